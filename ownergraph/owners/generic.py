"""Generic identifiers: a phone or e-mail that joins ads of unrelated owners (an agency or
booking line several independents list, a service's shared e-mail).

Hard identifiers are must-link evidence, so one such line merges every owner who lists
it. Two steps, both pure on DataFrames:

1. :func:`identifier_features`: per phone/e-mail carried by two or more ads, what its ads
   show: ads, distinct cities, advertised names, ages and ethnicities, time spread, and
   its *pieces*: the groups its ads fall into when it is removed from the ad+identifier
   graph (blocks of the graph around it; an ad that carries only this identifier is a
   piece of its own). An identifier with one piece joins nothing the others would not.
   For an identifier with several pieces whose ads span more days than is usual here
   (only those can be marked), the writing style of every pair of pieces is compared:
   cosine similarity of the pieces' TF-IDF centroids (character n-grams of the masked
   text, as the stylometry stage reads ads), kept as ``piece_links``.
2. :class:`GenericIdentifiers`, an estimator: ``fit`` takes the same similarity between
   random pairs of *unrelated* identifier components of the same data (``null``, from
   :func:`null_similarities`) and sets the style threshold at its ``quantile``;
   ``predict`` marks an identifier generic when its pieces fall into at least
   ``min_styles`` groups that write unlike one another (single linkage over piece pairs
   at or above the threshold): the line joins groups no more alike than strangers.

What a generic identifier then does in owner detection is decided by the caller
(:mod:`ownergraph.stages.owners`), one of :data:`TREATMENTS`: ``split`` keeps it as a
must-link only among its ads that write alike (one style group of :func:`style_split`:
two kinds of evidence agree), so it cannot join ads that write like strangers; ``cut``
leaves it out of the must-link cores altogether.
"""

from __future__ import annotations

from dataclasses import dataclass

import igraph as ig
import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer

from ownergraph import defaults
from ownergraph.owners.evidence_graph import HARD_KINDS, hub_keys

DEFAULT_ENABLED = defaults.GENERIC_IDENTIFIERS  # owners detect --generic
TREATMENTS = ("split", "cut")  # what a generic identifier still joins (module docstring)
DEFAULT_TREATMENT = defaults.GENERIC_TREATMENT
DEFAULT_QUANTILE = 0.99  # style threshold: this quantile of unrelated-pair similarity
DEFAULT_MIN_STYLES = 2  # style groups among an identifier's ads to call it generic
# and its ads must span more days than this quantile of the identifiers of the data
DEFAULT_DAYS_QUANTILE = 0.95
# fewer identifiers carried by two or more ads than this: too few to tell what is usual
# for the data at hand, and nothing is marked
MIN_IDENTIFIERS = 20
MAX_PIECE_ADS = 10  # ads of a piece compared (the first, by position)
MAX_UNIT_ADS = 200  # ads of one identifier compared
NULL_PAIRS = 2000  # random pairs of unrelated components for the null distribution
# evidence that anchors an ad carrying only the identifier to an owner of its own
ANCHOR_KINDS = ("author", "wallet", "image")
DEFAULT_ANCHORED = defaults.GENERIC_ANCHORED  # marks need anchored groups (find_generic)
FEATURES = (
    "ads", "pieces", "lone_ads", "cities", "names", "ages", "ethnicities", "days",
)  # fmt: skip


@dataclass
class IdentifierTable:
    """Per identifier (index ``kind:hub``) its features, and every piece's ads."""

    features: pd.DataFrame
    pieces: dict[str, list[np.ndarray]]  # identifier -> ad positions of each piece
    lone: dict[str, np.ndarray]  # identifier -> positions of its ads that carry nothing else


def _hard(evidence: pd.DataFrame, kinds: tuple[str, ...]) -> pd.DataFrame:
    ev = evidence[evidence["kind"].isin(kinds)][["ad", "kind", "hub"]].drop_duplicates()
    key = hub_keys(ev).to_numpy(dtype=object)
    return ev.assign(key=key)


def _grouped(values: np.ndarray, by: np.ndarray, n_groups: int) -> list[np.ndarray]:
    """``values`` split by the group numbers ``by`` (0 <= by < n_groups), each group in
    its original order: what ``Series(values).groupby(by)`` gives per group, without a
    Python call per group (a list indexed by group; absent groups are empty)."""
    order = np.argsort(by, kind="stable")
    ends = np.cumsum(np.bincount(by, minlength=n_groups))
    return np.split(values[order], ends[:-1])


def identifier_pieces(
    ads: np.ndarray, evidence: pd.DataFrame, kinds: tuple[str, ...] = HARD_KINDS
) -> tuple[dict[str, list[np.ndarray]], dict[str, np.ndarray]]:
    """For every identifier of ``kinds`` carried by two or more ads: the groups its ads
    fall into without it that hold another identifier (*pieces*: ad positions in
    ``ads``), and how many of its ads carry nothing else (*lone* ads, which join nothing).

    The groups are the blocks (biconnected components) of the ad+identifier graph that
    contain the identifier: for a cut vertex they match the components of the graph
    without it one to one. A piece's ads are the block's ads and, for a block of one ad,
    the ads of that ad's other identifiers."""
    ads = np.asarray(ads, dtype=object)
    ev = _hard(evidence, kinds)
    ad_pos = pd.Index(ads).get_indexer(ev["ad"])
    ev = ev[ad_pos >= 0].assign(pos=ad_pos[ad_pos >= 0])
    ev = ev[ev.groupby("key")["pos"].transform("size") >= 2]
    if ev.empty:
        return {}, {}
    hubs, hub_idx = np.unique(ev["key"].to_numpy(dtype=object), return_inverse=True)
    n = len(ads)
    pos = ev["pos"].to_numpy(np.int64)
    g = ig.Graph(n=n + len(hubs), edges=np.column_stack([pos, n + hub_idx]).tolist())
    degree = np.asarray(g.degree())
    blocks, cut = g.biconnected_components(return_articulation_points=True)
    cut_hubs = {v for v in cut if v >= n}
    hub_ads = _grouped(pos, hub_idx, len(hubs))  # each hub's ads, in evidence order
    ad_hubs = _grouped(hub_idx, pos, n)  # each ad's hubs, likewise
    pieces: dict[str, list[np.ndarray]] = {h: [] for h in hubs}
    lone: dict[str, list[int]] = {h: [] for h in hubs}
    for block in blocks:
        verts = np.asarray(block)
        ad_v = np.sort(verts[verts < n])
        for v in verts[verts >= n]:
            if v not in cut_hubs:
                continue
            h = hubs[v - n]
            if len(ad_v) == 1 and degree[ad_v[0]] == 1:
                lone[h].append(int(ad_v[0]))
            elif len(ad_v) == 1:
                mates = [hub_ads[o] for o in ad_hubs[ad_v[0]] if o != v - n]
                pieces[h].append(np.unique(np.concatenate([ad_v, *mates])))
            else:
                pieces[h].append(ad_v)
    for v in range(len(hubs)):
        if n + v not in cut_hubs:  # its ads stay connected without it: one piece
            pieces[hubs[v]] = [np.sort(hub_ads[v])]
    return pieces, {h: np.asarray(v, dtype=np.int64) for h, v in lone.items()}


def _distinct(values: pd.Series, key: pd.Series) -> pd.Series:
    """Distinct values per ``key`` of a column of tuples or scalars (missing and empty
    strings skipped)."""
    ex = pd.DataFrame({"key": key.to_numpy(), "v": values.to_numpy()}).explode("v")
    ex = ex[ex["v"].notna() & (ex["v"] != "")]
    return ex.groupby("key")["v"].nunique()


def identifier_features(
    ads: pd.DataFrame,
    evidence: pd.DataFrame,
    kinds: tuple[str, ...] = HARD_KINDS,
) -> IdentifierTable:
    """The features of every identifier of ``kinds`` carried by two or more ads.

    ``ads``: one row per ad, sorted by ``id``, with ``city``, ``posted_ts`` and,
    where known, ``text_names``, ``text_ages``, ``ethnicities`` (tuples, as
    :func:`ownergraph.text_indicators.stored_or_extracted` gives them)."""
    ids = ads["id"].to_numpy(dtype=object)
    pieces, lone = identifier_pieces(ids, evidence, kinds)
    if not pieces:
        empty = pd.DataFrame(columns=["kind", "hub", *FEATURES])
        return IdentifierTable(empty.rename_axis("identifier"), {}, {})
    ev = _hard(evidence, kinds)
    ev = ev[ev["key"].isin(pd.Index(list(pieces)))]
    on = ev.merge(ads.rename(columns={"id": "ad"}), on="ad", how="left")
    grouped = on.groupby("key", sort=True)
    feats = pd.DataFrame(index=pd.Index(sorted(pieces), name="identifier"))
    feats["kind"] = grouped["kind"].first()
    feats["hub"] = grouped["hub"].first()
    feats["ads"] = grouped["ad"].nunique()
    feats["pieces"] = pd.Series({k: len(v) for k, v in pieces.items()})
    feats["lone_ads"] = pd.Series({k: len(v) for k, v in lone.items()})
    for col, src in (
        ("cities", "city"),
        ("names", "text_names"),
        ("ages", "text_ages"),
        ("ethnicities", "ethnicities"),
    ):
        if src in on.columns:
            feats[col] = _distinct(on[src], on["key"]).reindex(feats.index, fill_value=0)
        else:
            feats[col] = 0
    ts = pd.to_numeric(on["posted_ts"], errors="coerce") if "posted_ts" in on else None
    if ts is not None:
        span = ts.groupby(on["key"]).agg(lambda s: (s.max() - s.min()) / 86400.0)
        feats["days"] = span.reindex(feats.index).fillna(0.0).round(2)
    else:
        feats["days"] = 0.0
    return IdentifierTable(feats, pieces, lone)


def _vectors(texts: list[str]) -> tuple[TfidfVectorizer, sparse.csr_matrix]:
    from ownergraph.linking.stylometry.masking import prepare_text

    vec = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 4), min_df=2, sublinear_tf=True, dtype=np.float32
    )
    return vec, vec.fit_transform([prepare_text(t) for t in texts])


def compared_units(table: IdentifierTable) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per identifier with two or more groups: the ad positions whose style is compared
    (the first ``MAX_PIECE_ADS`` of each piece, then its lone ads; at most
    ``MAX_UNIT_ADS``) and the unit (piece, then lone ad) each belongs to."""
    units: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for k, pcs in table.pieces.items():
        lone = table.lone.get(k, np.zeros(0, np.int64))
        if len(pcs) + len(lone) < 2:
            continue
        ad = np.concatenate([*(p[:MAX_PIECE_ADS] for p in pcs), lone]).astype(np.int64)
        unit = np.repeat(
            np.arange(len(pcs) + len(lone)),
            [*(min(len(p), MAX_PIECE_ADS) for p in pcs), *([1] * len(lone))],
        )
        units[k] = (ad[:MAX_UNIT_ADS], unit[:MAX_UNIT_ADS])
    return units


def style_links(
    table: IdentifierTable,
    texts: list[str],
    components: np.ndarray,
    seed: int = 0,
    n_null: int = NULL_PAIRS,
    only: pd.Index | None = None,
) -> tuple[pd.Series, np.ndarray]:
    """Style similarity between the ads of every identifier with two or more groups (its
    pieces and lone ads): per identifier an array of rows ``(i, j, cosine)`` over its ads
    (at most ``MAX_UNIT_ADS``, by position), with cosine 1 for two ads of one piece (known
    to be one owner through other identifiers). And the null: the same similarity between
    ``n_null`` random pairs of ads of different identifier ``components`` (component id
    per ad, aligned with ``texts``), drawn with a fixed ``seed``.

    The TF-IDF vocabulary is fitted on the ads read (those identifiers' and the null's).
    ``only``: compare the ads of these identifiers alone (the null is drawn the same)."""
    comp = np.asarray(components)
    rng = np.random.default_rng(seed)
    units = compared_units(table)
    if only is not None:
        wanted = set(only.tolist())
        units = {k: v for k, v in units.items() if k in wanted}
    pa = rng.integers(0, len(comp), size=n_null)
    pb = rng.integers(0, len(comp), size=n_null)
    keep = comp[pa] != comp[pb]
    pa, pb = pa[keep], pb[keep]
    used = np.unique(np.concatenate([pa, pb, *(u[0] for u in units.values())]).astype(np.int64))
    if len(used) < 2:
        return pd.Series(dtype=object), np.zeros(0)
    local = pd.Series(np.arange(len(used)), index=used)
    _, x = _vectors([texts[i] for i in used])
    links = {}
    for k, (ad, unit) in units.items():
        v = x[local.reindex(ad).to_numpy()]
        sim = (v @ v.T).toarray()
        i, j = np.triu_indices(len(ad), 1)
        s = np.where(unit[i] == unit[j], 1.0, sim[i, j])
        links[k] = np.column_stack([i, j, s])
    xa, xb = x[local.reindex(pa).to_numpy()], x[local.reindex(pb).to_numpy()]
    null = np.asarray(xa.multiply(xb).sum(axis=1)).ravel()
    return pd.Series(links, dtype=object), null


def style_groups(links: np.ndarray, n_pieces: int, threshold: float) -> int:
    """Groups of pieces under single linkage over the piece pairs at or above
    ``threshold`` (``links`` rows ``(i, j, cosine)``)."""
    if n_pieces <= 1:
        return n_pieces
    strong = links[links[:, 2] >= threshold] if len(links) else links
    g = ig.Graph(n=n_pieces, edges=strong[:, :2].astype(int).tolist() if len(strong) else [])
    return len(g.connected_components())


def unit_styles(links: np.ndarray, unit: np.ndarray, threshold: float) -> np.ndarray:
    """Style group per unit (``unit``: the unit of each compared ad, as
    :func:`compared_units` gives it): components of single linkage over the ad pairs of
    ``links`` (rows ``(i, j, cosine)``) at or above ``threshold``; numbered from 0."""
    n_units = int(unit.max()) + 1 if len(unit) else 0
    strong = links[links[:, 2] >= threshold] if len(links) else np.zeros((0, 3))
    ij = strong[:, :2].astype(np.int64)
    g = ig.Graph(n=n_units, edges=np.column_stack([unit[ij[:, 0]], unit[ij[:, 1]]]).tolist())
    return pd.factorize(np.asarray(g.connected_components().membership))[0]


def style_split(
    table: IdentifierTable,
    ads: np.ndarray,
    evidence: pd.DataFrame,
    links: pd.Series,
    threshold: float,
    keys: list[str],
) -> dict[str, dict[object, int]]:
    """Per identifier of ``keys``: the style group of each ad that carries it (``ads`` the
    ad ids by position), for keeping it as a must-link only among ads that write alike.

    A piece (ads joined without the identifier) takes the group of its compared ads; a
    lone ad its own. Pieces and lone ads beyond the compared ones (``MAX_UNIT_ADS``) get a
    group of their own each: nothing says they write like the others."""
    units = compared_units(table)
    ev = _hard(evidence, HARD_KINDS)
    out: dict[str, dict[object, int]] = {}
    for k in keys:
        carriers = set(ev.loc[ev["key"] == k, "ad"])
        ad_pos, unit = units.get(k, (np.zeros(0, np.int64), np.zeros(0, np.int64)))
        lk = links.get(k)
        lk = lk if isinstance(lk, np.ndarray) else np.zeros((0, 3))
        styles = unit_styles(lk, unit, threshold)
        nxt = int(styles.max()) + 1 if len(styles) else 0
        pieces = [*table.pieces.get(k, []), *([p] for p in table.lone.get(k, []))]
        group: dict[object, int] = {}
        for u, piece in enumerate(pieces):
            if u < len(styles):
                g = int(styles[u])
            else:
                g, nxt = nxt, nxt + 1
            for pos in piece:
                if ads[pos] in carriers:
                    group[ads[pos]] = g
        for a in sorted(carriers - set(group), key=str):  # not in any piece: alone
            group[a], nxt = nxt, nxt + 1
        out[k] = group
    return out


def anchored_styles(
    table: IdentifierTable,
    ads: np.ndarray,
    evidence: pd.DataFrame,
    links: pd.Series,
    threshold: float,
    keys: list[str],
    kinds: tuple[str, ...] = ANCHOR_KINDS,
) -> pd.Series:
    """Per identifier of ``keys``: how many style groups its *anchored* groups fall into.

    A piece is anchored (it carries another identifier); a lone ad is anchored when
    another kind of evidence (``kinds``: an author cluster, a paying wallet, a picture
    group) ties it to an ad that carries a phone or e-mail other than this one: a second
    sign that it belongs to an owner of its own. Groups beyond the compared ones count as
    a style each."""
    soft = evidence[evidence["kind"].isin(kinds)][["ad", "kind", "hub"]].drop_duplicates()
    skey = hub_keys(soft)
    # only the lone ads of ``keys`` are looked up, so only their hubs, those hubs' ads and
    # those ads' identifiers are grouped (not every ad of the store: 1M groups at 1M ads)
    lone_ads = {ads[p] for k in keys for p in table.lone.get(k, ())}
    of_lone = soft["ad"].isin(lone_ads).to_numpy()
    in_hubs = skey.isin(set(skey[of_lone])).to_numpy()
    hub_ads = soft["ad"][in_hubs].groupby(skey[in_hubs]).agg(set)
    ad_hubs = skey[of_lone].groupby(soft["ad"][of_lone]).agg(list)
    ev = _hard(evidence[evidence["ad"].isin(set(soft["ad"][in_hubs]))], HARD_KINDS)
    with_hard = ev.groupby("ad")["key"].agg(set)
    units = compared_units(table)
    out = {}
    for k in keys:
        pcs, lone = table.pieces.get(k, []), table.lone.get(k, np.zeros(0, np.int64))
        anchored = [True] * len(pcs)
        for pos in lone:
            mates = set().union(*(hub_ads[h] for h in ad_hubs.get(ads[pos], [])))
            anchored.append(any(with_hard.get(b, set()) - {k} for b in mates))
        _, unit = units.get(k, (np.zeros(0, np.int64), np.zeros(0, np.int64)))
        lk = links.get(k)
        lk = lk if isinstance(lk, np.ndarray) else np.zeros((0, 3))
        styles = list(unit_styles(lk, unit, threshold))
        styles += [len(anchored) + i for i in range(len(anchored) - len(styles))]
        out[k] = len({st for st, a in zip(styles, anchored, strict=True) if a})
    return pd.Series(out, dtype=np.int64)


def _joins(X: pd.DataFrame) -> np.ndarray:
    """Identifiers that join two or more groups (pieces or lone ads)."""
    return (X["pieces"] + X["lone_ads"]).to_numpy() >= 2


def days_threshold(days: pd.Series, quantile: float = DEFAULT_DAYS_QUANTILE) -> float:
    """The span in days an identifier's ads must exceed to be marked: the ``quantile`` of
    the identifiers' spans (infinite, nothing marked, with fewer than
    :data:`MIN_IDENTIFIERS`)."""
    d = pd.to_numeric(days, errors="coerce").dropna().to_numpy(dtype=float)
    return float("inf") if len(d) < MIN_IDENTIFIERS else float(np.quantile(d, quantile))


def _spans(X: pd.DataFrame) -> np.ndarray:
    return pd.to_numeric(X["days"], errors="coerce").fillna(0.0).to_numpy(dtype=float)


class GenericIdentifiers(BaseEstimator):
    """Marks identifiers whose pieces write unlike one another as generic.

    ``fit(X, null=...)``: ``null`` the piece-pair style similarity between unrelated
    identifier components of the same data (:func:`style_links`); the threshold is its
    ``quantile``. ``predict(X)``: X the features of :func:`identifier_features` with a
    ``piece_links`` column; True where the pieces form at least ``min_styles`` style
    groups (and there are at least two pieces)."""

    def __init__(
        self,
        quantile: float = DEFAULT_QUANTILE,
        min_styles: int = DEFAULT_MIN_STYLES,
        days_quantile: float = DEFAULT_DAYS_QUANTILE,
    ):
        self.quantile = quantile
        self.min_styles = min_styles
        self.days_quantile = days_quantile

    def fit(self, X: pd.DataFrame, y: object = None, *, null: np.ndarray) -> GenericIdentifiers:
        null = np.asarray(null, dtype=float)
        if len(null) == 0:
            raise ValueError("no unrelated pairs to set the style threshold on")
        if not 0 < self.quantile < 1:
            raise ValueError(f"quantile must be in (0, 1), got {self.quantile}")
        self.threshold_ = float(np.quantile(null, self.quantile))
        self.n_null_ = len(null)
        self.days_threshold_ = days_threshold(X["days"], self.days_quantile)
        return self

    def styles(self, X: pd.DataFrame) -> np.ndarray:
        """Style groups per identifier (1 for an identifier with one piece)."""
        out = np.ones(len(X), dtype=np.int64)
        empty = np.zeros((0, 3))
        for i, (n, links) in enumerate(zip(X["compared"], X["style_links"], strict=True)):
            lk = links if isinstance(links, np.ndarray) else empty
            out[i] = style_groups(lk, int(n), self.threshold_) if n >= 2 else 1
        return out

    def _long(self, X: pd.DataFrame) -> np.ndarray:
        return _spans(X) > self.days_threshold_

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return _joins(X) & (self.styles(X) >= self.min_styles) & self._long(X)

    def reasons(self, X: pd.DataFrame) -> pd.Series:
        """A one-line reason per identifier flagged (empty string otherwise)."""
        st = self.styles(X)
        flag = _joins(X) & (st >= self.min_styles) & self._long(X)
        text = [
            (
                f"joins {int(p)} groups of ads that write in {int(s)} unrelated styles "
                f"(style similarity below {self.threshold_:.3f}, the "
                f"{self.quantile:g} quantile between unrelated identifiers) over {d:.0f} days "
                f"(more than {self.days_threshold_:.1f}, the {self.days_quantile:g} quantile "
                f"of identifiers here); {int(a)} ads, {int(c)} cities, {int(nm)} names"
            )
            if f
            else ""
            for f, p, s, a, c, nm, d in zip(
                flag,
                X["pieces"] + X["lone_ads"],
                st,
                X["ads"],
                X["cities"],
                X["names"],
                X["days"],
                strict=True,
            )
        ]
        return pd.Series(text, index=X.index)


def find_generic(
    ads: pd.DataFrame,
    texts: list[str],
    evidence: pd.DataFrame,
    components: np.ndarray,
    *,
    quantile: float = DEFAULT_QUANTILE,
    min_styles: int = DEFAULT_MIN_STYLES,
    days_quantile: float = DEFAULT_DAYS_QUANTILE,
    seed: int = 0,
    anchored: bool = DEFAULT_ANCHORED,
) -> pd.DataFrame:
    """Features, style groups and the generic mark of every identifier carried by two or
    more ads: one row per identifier (index ``kind:hub``) with ``generic`` and
    ``generic_reason``, ``merges`` (pieces - 1: the joins it makes on its own) and, for a
    generic one, ``style_groups`` (ad id -> style group, :func:`style_split`)."""
    table = identifier_features(ads, evidence)
    feats = table.features
    if feats.empty:
        return feats.assign(
            style_links=None, compared=0, styles=0, merges=0, generic=False, generic_reason="",
            style_groups=None, anchored_styles=0,
        )  # fmt: skip
    # only identifiers that join groups over a longer span than usual can be marked: the
    # style of the others is not compared (at 100k ads this read ~20x fewer ads)
    can_mark = _joins(feats) & (_spans(feats) > days_threshold(feats["days"], days_quantile))
    links, null = style_links(table, texts, components, seed=seed, only=feats.index[can_mark])
    lk = links.reindex(feats.index)
    n_cmp = [0 if not isinstance(v, np.ndarray) else int(v[:, :2].max()) + 1 for v in lk]
    feats = feats.assign(style_links=lk.to_numpy(), compared=n_cmp)
    if len(null) == 0:  # no two ads of different components to compare
        return feats.assign(
            styles=1,
            merges=0,
            generic=False,
            generic_reason="",
            style_groups=None,
            anchored_styles=0,
        )
    det = GenericIdentifiers(quantile, min_styles, days_quantile).fit(feats, null=null)
    feats["styles"] = det.styles(feats)
    feats["merges"] = (feats["pieces"] + feats["lone_ads"] - 1).clip(lower=0)
    feats["generic"] = det.predict(feats)
    feats["generic_reason"] = det.reasons(feats)
    ids = ads["id"].to_numpy(dtype=object)
    cand = feats.index[feats["generic"]].tolist()
    anch = anchored_styles(table, ids, evidence, links, det.threshold_, cand)
    feats["anchored_styles"] = anch.reindex(feats.index).fillna(0).astype(np.int64)
    if anchored:  # the styles must belong to groups that other evidence also sets apart
        keep = feats["anchored_styles"] >= min_styles
        feats["generic"] &= keep
        feats["generic_reason"] = feats["generic_reason"].where(feats["generic"], "")
        marked_now = feats["generic"].to_numpy(dtype=bool)
        feats.loc[marked_now, "generic_reason"] = [
            f"{r}; {n} of these styles belong to groups with identifiers of their own "
            "(pieces, or ads tied by author, wallet or picture to other phones/e-mails)"
            for r, n in zip(
                feats.loc[marked_now, "generic_reason"],
                feats.loc[marked_now, "anchored_styles"],
                strict=True,
            )
        ]
    marked = feats.index[feats["generic"]].tolist()
    split = style_split(table, ids, evidence, links, det.threshold_, marked)
    feats["style_groups"] = pd.Series(split, dtype=object).reindex(feats.index).to_numpy()
    feats.attrs["threshold"] = det.threshold_
    feats.attrs["days_threshold"] = det.days_threshold_
    return feats
