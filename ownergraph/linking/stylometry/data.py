"""Ad texts with their labels, from a CSV/JSONL file, a synthetic world or a store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ownergraph.linking.stylometry.pairs import identifier_components, text_identifiers
from ownergraph.loaders.ad_mapping import AdMapping
from ownergraph.loaders.records import read_records

# ad fields read beside the text (``LabelledAds.fields``)
AD_FIELD_COLUMNS = ("age", "location", "posted_at")


@dataclass
class LabelledAds:
    """Ads (raw title + body text) with identifier keys and, if known, true authors."""

    ids: list[str]
    texts: list[str] | pa.Array  # Python strings, or one Arrow string array (compact)
    identifiers: list[list[str]]
    authors: np.ndarray | None = None  # true author per ad (synthetic truth), else None
    source: str = ""
    # ad fields the author chose besides the text, per ad (``None`` = not stated):
    # ``age`` (stated age), ``location`` (free-text location string), ``posted_at``
    # (creation time, ISO text); see ``features.FIELD_FEATURES``
    fields: dict[str, list] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def groups(self, labels: str = "identifiers") -> np.ndarray:
        """Group per ad: identifier component (``-1`` = none) or the true author."""
        if labels == "identifiers":
            return identifier_components(self.identifiers)
        if labels == "truth":
            if self.authors is None:
                raise ValueError(f"{self.source}: no true author labels (need DIR/truth/ads.csv)")
            return self.authors
        raise ValueError(f"unknown labels {labels!r}: use 'identifiers' or 'truth'")

    def head(self, n: int) -> LabelledAds:
        return LabelledAds(
            self.ids[:n],
            self.texts[:n],
            self.identifiers[:n],
            None if self.authors is None else self.authors[:n],
            self.source,
            None if self.fields is None else {k: v[:n] for k, v in self.fields.items()},
        )

    def take(self, idx: np.ndarray) -> LabelledAds:
        """The ads at positions ``idx`` (texts as Python strings)."""
        idx = np.asarray(idx, dtype=np.int64)
        return LabelledAds(
            [self.ids[i] for i in idx],
            take_texts(self.texts, idx),
            [self.identifiers[i] for i in idx],
            None if self.authors is None else self.authors[idx],
            self.source,
            None
            if self.fields is None
            else {k: [v[i] for i in idx] for k, v in self.fields.items()},
        )


def take_texts(texts: list[str] | pa.Array, idx: np.ndarray) -> list[str]:
    """The texts at positions ``idx`` as Python strings (from a list or an Arrow array)."""
    if isinstance(texts, pa.Array | pa.ChunkedArray):
        return [t if t is not None else "" for t in texts.take(np.asarray(idx)).to_pylist()]
    return [texts[i] for i in idx]


def _text(title: object, body: object) -> str:
    t = "" if title is None or (isinstance(title, float) and np.isnan(title)) else str(title)
    b = "" if body is None or (isinstance(body, float) and np.isnan(body)) else str(body)
    return f"{t}\n{b}"


def read_ads(
    path: str | Path,
    limit: int | None = None,
    mapping: AdMapping | None = None,
    fmt: str | None = None,
) -> LabelledAds:
    """Read ads from an ad file (any format and ``mapping`` that ``load ads`` takes), or a
    synthetic world directory.

    Identifier labels are extracted from the text. In a world directory the true
    author of each ad comes from ``truth/ads.csv`` (``ad_id``, ``author_id``).
    """
    path = Path(path)
    if path.is_dir():
        jsonl = path / "ads.jsonl"
        if not jsonl.exists():
            raise FileNotFoundError(f"{path} is a directory without ads.jsonl")
        ads = read_ads(jsonl, limit)
        truth = path / "truth" / "ads.csv"
        if truth.exists():
            t = pd.read_csv(truth, dtype={"ad_id": str, "author_id": str})
            author = dict(zip(t["ad_id"], t["author_id"], strict=True))
            missing = [i for i in ads.ids if i not in author]
            if missing:
                raise ValueError(f"{truth}: no author for ad {missing[0]!r}")
            ads.authors = pd.factorize(pd.Series([author[i] for i in ads.ids]))[0]
        ads.source = str(path)
        return ads
    return _file_ads(path, limit, mapping, fmt)


def _file_ads(
    path: Path, limit: int | None, mapping: AdMapping | None, fmt: str | None
) -> LabelledAds:
    """Ads of a file read as ``load ads`` reads it: the same reader and column mapping.

    A record that the loader would reject (unreadable, no id, no text) is an error here,
    named by its line: a training set is not silently smaller than the file.
    """
    mapping = mapping or AdMapping()
    ids: list[str] = []
    texts: list[str] = []
    ad_fields: dict[str, list] = {k: [] for k in AD_FIELD_COLUMNS}
    seen: set[str] = set()
    if mapping.columns:
        from ownergraph.loaders.inspect import file_columns

        missing = mapping.missing(file_columns(path, fmt))
        if missing:
            raise ValueError(f"{path}: mapped column(s) not in the file: {', '.join(missing)}")
    for rec in read_records(path, fmt):
        if limit is not None and len(ids) >= limit:
            break
        if rec.error:
            raise ValueError(f"{path}:{rec.line}: {rec.error}")
        fields = mapping.apply(rec.fields or {})
        ad_id, title, body = fields.get("id"), fields.get("title"), fields.get("body")
        if ad_id is None or not str(ad_id).strip():
            raise ValueError(
                f"{path}:{rec.line}: no ad id (need id, title, body; map them with --map)"
            )
        if _blank(title) and _blank(body):
            raise ValueError(f"{path}:{rec.line}: no text (title/body; map them with --map)")
        ad_id = str(ad_id)
        if ad_id in seen:
            raise ValueError(f"{path}: duplicate ad id {ad_id!r}")
        seen.add(ad_id)
        ids.append(ad_id)
        texts.append(_text(title, body))
        raw = rec.fields or {}
        for k in AD_FIELD_COLUMNS:
            # ``location`` is no ad field of the store: read from a column of that name
            v = raw.get(k) if k == "location" else fields.get(k)
            ad_fields[k].append(None if _blank(v) else str(v))
    return LabelledAds(ids, texts, [text_identifiers(t) for t in texts], None, str(path), ad_fields)


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or not str(v).strip()
