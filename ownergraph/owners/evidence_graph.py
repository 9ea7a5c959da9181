"""The evidence graph: ads and the hubs (phones, e-mails, wallets, authors, pictures) they
point to, one weighted edge per (ad, hub) link (see :mod:`ownergraph.owners.communities`
for the kinds and how owner groups are formed on it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import igraph as ig
import numpy as np
import pandas as pd

from ownergraph.errors import OwnergraphError

KINDS = ("phone", "email", "wallet", "author", "image")
HARD_KINDS = ("phone", "email")


def hub_keys(links: pd.DataFrame) -> pd.Series:
    """One key per link naming its hub across kinds (``"phone:+1702..."``), index kept."""
    return links["kind"] + ":" + links["hub"].astype(str)


class EvidenceError(OwnergraphError, ValueError):
    """Evidence that cannot be used as is (e.g. a link without a confidence)."""


@dataclass(frozen=True)
class EvidenceWeights:
    """Weight of one link of each kind; a link counts ``weight x confidence``.

    A weight of 0 leaves that kind out. Defaults: every kind counts fully; the calibration
    on the synthetic worlds found no gain in down-weighting stylometric authors (their
    uncertainty is in their confidence).
    """

    phone: float = 1.0
    email: float = 1.0
    wallet: float = 1.0
    author: float = 1.0
    image: float = 1.0

    def __post_init__(self) -> None:
        for k, v in asdict(self).items():
            if not (v >= 0):
                raise ValueError(f"evidence weight {k}={v!r} must be >= 0")

    @classmethod
    def only(cls, *kinds: str) -> EvidenceWeights:
        """Weights that use just the given kinds (each at its default weight)."""
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown evidence kinds {sorted(unknown)}; known: {KINDS}")
        base = cls()
        return cls(**{k: (getattr(base, k) if k in kinds else 0.0) for k in KINDS})

    @classmethod
    def parse(cls, spec: str) -> EvidenceWeights:
        """``"phone=1,email=1,wallet=1,author=0.5"`` (missing kinds keep their default)."""
        values = asdict(cls())
        for item in filter(None, (s.strip() for s in spec.split(","))):
            k, sep, v = item.partition("=")
            if not sep or k.strip() not in values:
                raise ValueError(f"bad evidence weight {item!r}; use KIND=NUMBER, kinds {KINDS}")
            try:
                values[k.strip()] = float(v)
            except ValueError:
                raise ValueError(f"bad evidence weight {item!r}: {v!r} is not a number") from None
        return cls(**values)

    def active(self) -> tuple[str, ...]:
        return tuple(k for k in KINDS if getattr(self, k) > 0)


@dataclass
class EvidenceGraph:
    """Ads and hubs as one undirected weighted graph (ads are vertices 0..n_ads-1)."""

    ads: np.ndarray  # ad ids, sorted; vertex i is ads[i]
    hubs: np.ndarray  # "kind:key" labels; vertex n_ads + j is hubs[j]
    src: np.ndarray  # ad vertex per edge
    dst: np.ndarray  # hub vertex per edge
    weight: np.ndarray  # weight[kind] x confidence per edge
    kind: np.ndarray  # evidence kind per edge
    confidence: np.ndarray  # link confidence per edge
    max_weight: np.ndarray = field(default_factory=lambda: np.zeros(0))  # weight[kind] per edge
    # per ad: carries a hard identifier (also one no other ad shares, which has no hub)
    identified: np.ndarray | None = None

    @property
    def n_ads(self) -> int:
        return len(self.ads)

    @property
    def n_edges(self) -> int:
        return len(self.src)

    def to_igraph(self) -> ig.Graph:
        g = ig.Graph(n=self.n_ads + len(self.hubs), directed=False)
        g.add_edges(np.column_stack([self.src, self.dst]))
        g.es["weight"] = self.weight.astype(float)
        return g


def build_evidence_graph(
    ads: np.ndarray | list[str],
    evidence: pd.DataFrame,
    weights: EvidenceWeights | None = None,
) -> EvidenceGraph:
    """The ad+hub graph from an evidence frame (ad, kind, hub, confidence).

    Kinds with weight 0 and hubs linked to fewer than two ads are left out. Every ad of
    ``ads`` is a vertex (ads without evidence stay isolated); evidence about an ad that is
    not in ``ads`` is an error.
    """
    weights = weights or EvidenceWeights()
    ads = np.asarray(sorted(ads), dtype=object)
    # Plain object arrays and integer codes throughout: pandas' ``str`` dtype matches
    # strings one by one in Python (``isin`` was 80 % of a 100k-ad partition), and
    # calibration builds this graph about a hundred times per run.
    kind_all = evidence["kind"].to_numpy(dtype=object)
    ev = evidence[np.isin(kind_all, list(weights.active()))]
    kind = ev["kind"].to_numpy(dtype=object)
    ad_pos = pd.Index(ads, dtype=object).get_indexer(ev["ad"].to_numpy(dtype=object))
    unknown = ad_pos < 0
    if unknown.any():
        raise EvidenceError(
            f"{int(unknown.sum())} evidence links name ads that are not in the graph, "
            f"e.g. {ev['ad'].to_numpy(dtype=object)[unknown][:3].tolist()}"
        )
    confidence = ev["confidence"].to_numpy(dtype=float)
    if np.isnan(confidence).any() or ((confidence < 0) | (confidence > 1)).any():
        bad = ev[np.isnan(confidence) | (confidence < 0) | (confidence > 1)].head(3)
        raise EvidenceError(
            "link confidence must be in [0, 1], e.g. "
            + ", ".join(f"{r.ad}->{r.kind}:{r.hub}={r.confidence}" for r in bad.itertuples())
        )
    identified = np.zeros(len(ads), dtype=bool)
    identified[ad_pos[np.isin(kind, list(HARD_KINDS))]] = True
    hub_text = ev["hub"].to_numpy(dtype=object)
    hub_label = np.array([f"{k}:{h}" for k, h in zip(kind, hub_text, strict=True)], dtype=object)
    codes, _ = pd.factorize(hub_label)
    keep = np.bincount(codes, minlength=1)[codes] >= 2 if len(codes) else np.zeros(0, bool)
    ad_pos, kind, confidence = ad_pos[keep], kind[keep], confidence[keep]
    hubs, hub_idx = np.unique(hub_label[keep], return_inverse=True)
    kind_w = np.array([getattr(weights, k) for k in kind], dtype=float)
    return EvidenceGraph(
        ads=ads,
        hubs=hubs,
        src=ad_pos.astype(np.int64),
        dst=(len(ads) + hub_idx).astype(np.int64),
        weight=kind_w * confidence,
        kind=kind,
        confidence=confidence,
        max_weight=kind_w,
        identified=np.asarray(identified, dtype=bool),
    )
