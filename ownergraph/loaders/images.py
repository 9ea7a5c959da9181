"""Ad pictures -> hashes -> ``Image {hash}`` nodes and ``(Ad)-[:HAS_IMAGE]->(Image)``.

Three inputs, one output:

- :func:`refs_from_ads`: the picture references in an ads file (a column or a JSON
  field, a dotted path that walks lists: ``dig:snapshot.dig:hasImagePart.schema:url``),
  several per ad as a JSON list or separated by ``;``, ``|`` or ``,``;
- :func:`refs_from_folder`: a folder keyed by ad id (``DIR/<ad id>/*.jpg`` or
  ``DIR/<ad id>.jpg`` / ``DIR/<ad id>__<n>.jpg``);
- :func:`read_hash_list`: a shared hash list (CSV ``ad_id,pdq[,phash,pdq_quality,crops]``)
  without any picture: organisations share hashes, not images.

:func:`hash_refs` hashes local files (in parallel processes); a URL is quarantined,
never fetched. Only hashes reach the store: no pixels, no thumbnails, and not the file
names or URLs either (a reference can name a person). Every reference is loaded or
quarantined with its reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ownergraph.linking.image_hashes import PDQ_BITS, PHASH_BITS, hash_file
from ownergraph.loaders.ordered_pool import worker_count
from ownergraph.loaders.quarantine import Quarantine
from ownergraph.loaders.records import read_records
from ownergraph.store.base import Store

PICTURE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff")
_SPLIT = re.compile(r"\s*[;|,]\s*")
_HEX = re.compile(r"^[0-9a-f]+$")
SOURCE = "images"


@dataclass(frozen=True)
class ImageRef:
    ad: str
    ref: str
    where: str  # source:line for messages


def _walk(value: Any, parts: list[str]) -> Iterator[Any]:
    if not parts:
        if isinstance(value, list):
            for v in value:
                yield from _walk(v, [])
        elif value not in (None, ""):
            yield value
        return
    if isinstance(value, list):
        for v in value:
            yield from _walk(v, parts)
    elif isinstance(value, dict) and parts[0] in value:
        yield from _walk(value[parts[0]], parts[1:])


def _values(fields: dict[str, Any], path: str) -> list[str]:
    """Every value at a dotted path (lists walked), strings split into references."""
    raw = [fields[path]] if path in fields else list(_walk(fields, path.split(".")))
    out: list[str] = []
    for v in raw:
        if isinstance(v, str) and v.strip().startswith("["):
            try:
                v = json.loads(v)
            except json.JSONDecodeError:
                pass
        if isinstance(v, list):
            out += [str(x).strip() for x in v if str(x).strip()]
        else:
            out += [s for s in _SPLIT.split(str(v).strip()) if s]
    return out


def refs_from_ads(
    path: str | Path, column: str, *, id_column: str = "id", fmt: str | None = None,
    quarantine: Quarantine | None = None,
) -> list[ImageRef]:  # fmt: skip
    """The picture references of every ad in an ads file (see the module docstring)."""
    q = quarantine or Quarantine()
    out = []
    for rec in read_records(path, fmt):
        if rec.fields is None:
            q.add(rec.source, rec.line, rec.raw, f"unreadable: {rec.error}")
            continue
        ad = list(_walk(rec.fields, id_column.split("."))) if id_column not in rec.fields else [
            rec.fields[id_column]]  # fmt: skip
        if not ad or ad[0] in (None, ""):
            q.add(rec.source, rec.line, None, f"no ad id: field {id_column!r} is empty")
            continue
        for r in _values(rec.fields, column):
            out.append(ImageRef(str(ad[0]), r, f"{rec.source}:{rec.line}"))
    return out


def refs_from_folder(root: str | Path) -> list[ImageRef]:
    """Pictures under a folder keyed by ad id: ``<ad>/<any>.jpg``, ``<ad>.jpg``,
    ``<ad>__<n>.jpg``."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    out = []
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.suffix.lower() not in PICTURE_SUFFIXES:
            continue
        rel = p.relative_to(root)
        ad = rel.parts[0] if len(rel.parts) > 1 else p.stem.split("__")[0]
        out.append(ImageRef(ad, str(p), str(rel)))
    return out


def _hash_one(args: tuple[str, bool]) -> tuple[str | None, Any]:
    path, crops = args
    try:
        h = hash_file(path, crops=crops)
    except Exception as exc:  # noqa: BLE001 - any unreadable picture is quarantined
        return f"unreadable picture: {type(exc).__name__}", None
    return None, h


def hash_refs(
    refs: list[ImageRef],
    *,
    base_dir: str | Path | None = None,
    crops: bool = True,
    workers: int = 0,
    quarantine: Quarantine | None = None,
) -> pd.DataFrame:
    """Hash the local pictures the references name; rows ad, pdq, pdq_quality, phash,
    crops (``;``-joined), and ref (the reference: never written to the store). URLs and
    missing files are quarantined, never fetched."""
    q = quarantine or Quarantine()
    base = Path(base_dir) if base_dir else Path(".")
    todo: list[tuple[ImageRef, str]] = []
    for r in refs:
        if re.match(r"^[a-z][a-z0-9+.-]*://", r.ref, re.I):
            q.add(SOURCE, r.where, None, "url: pictures are never downloaded; fetch them "
                  "yourself and load the folder (--folder)")  # fmt: skip
            continue
        p = Path(r.ref) if Path(r.ref).is_absolute() else base / r.ref
        if not p.is_file():
            q.add(SOURCE, r.where, None, "missing file: the reference names no file")
            continue
        todo.append((r, str(p)))
    workers = worker_count(workers)
    args = [(p, crops) for _, p in todo]
    if workers > 1 and len(args) > 8:
        # joblib's loky workers start fresh (small; reused; no re-run of an unguarded
        # __main__), not as forked copies of this process: after the authors stage of a
        # 300k-ad run, forked workers took the run's peak (process and workers, summed RSS)
        # from 6.4 to 10.7 GB
        from joblib import Parallel, delayed

        par = Parallel(n_jobs=workers, backend="loky", batch_size=8)
        results = par(delayed(_hash_one)(a) for a in args)
    else:
        results = [_hash_one(a) for a in args]
    rows = []
    for (r, _), (error, h) in zip(todo, results, strict=True):
        if error:
            q.add(SOURCE, r.where, None, error)
            continue
        rows.append({"ref": r.ref, "ad": r.ad, "pdq": h.pdq, "pdq_quality": h.pdq_quality,
                     "phash": h.phash, "crops": ";".join(h.crops)})  # fmt: skip
    return pd.DataFrame(rows, columns=["ref", "ad", "pdq", "pdq_quality", "phash", "crops"])


def _check_hex(value: Any, bits: int, what: str) -> str:
    s = str(value).strip().lower()
    if len(s) != bits // 4 or not _HEX.match(s):
        raise ValueError(f"{what}: not a {bits}-bit hex hash")
    return s


def read_hash_list(path: str | Path, quarantine: Quarantine | None = None) -> pd.DataFrame:
    """A shared hash list: CSV (or JSONL) with ``ad_id`` and ``pdq`` (64 hex chars), and
    optionally ``phash`` (16 hex chars), ``pdq_quality`` (0-100), ``crops``. Bad rows are
    quarantined with their reason."""
    q = quarantine or Quarantine()
    rows = []
    for rec in read_records(path):
        if rec.fields is None:
            q.add(rec.source, rec.line, rec.raw, f"unreadable: {rec.error}")
            continue
        f = rec.fields
        try:
            ad = str(f.get("ad_id") or f.get("ad") or "").strip()
            if not ad:
                raise ValueError("ad_id: empty")
            pdq = _check_hex(f.get("pdq"), PDQ_BITS, "pdq")
            ph = f.get("phash")
            ph = _check_hex(ph, PHASH_BITS, "phash") if ph not in (None, "") else None
            qual = f.get("pdq_quality")
            qual = int(qual) if qual not in (None, "") else 100
            if not 0 <= qual <= 100:
                raise ValueError("pdq_quality: not in 0-100")
            crops = str(f.get("crops") or "").strip().lower()
            for c in filter(None, crops.split(";")):
                _check_hex(c, PHASH_BITS, "crops")
        except (TypeError, ValueError) as exc:
            q.add(rec.source, rec.line, None, str(exc))
            continue
        rows.append({"ad": ad, "pdq": pdq, "pdq_quality": qual, "phash": ph, "crops": crops})
    return pd.DataFrame(rows, columns=["ad", "pdq", "pdq_quality", "phash", "crops"])


def write_images(
    store: Store,
    hashes: pd.DataFrame,
    *,
    method: str = "pdq",
    quarantine: Quarantine | None = None,
    where: Iterable[str] | None = None,
) -> tuple[int, int]:
    """Write ``Image`` nodes (key: the PDQ hash) and ``HAS_IMAGE`` edges for hash rows
    (ad, pdq, pdq_quality, phash, crops). Rows naming an ad that is not in the store are
    quarantined. Returns (links written, images written)."""
    q = quarantine or Quarantine()
    if hashes.empty:
        return 0, 0
    known = store.keys("Ad")
    missing = ~hashes["ad"].isin(known)
    for ad in hashes.loc[missing, "ad"]:
        q.add(SOURCE, ad, None, "unknown ad: no Ad with this id in the store")
    h = hashes[~missing]
    if h.empty:
        return 0, 0
    nodes = (
        h.drop_duplicates("pdq", keep="first")
        .rename(columns={"pdq": "hash"})[["hash", "pdq_quality", "phash", "crops"]]
        .assign(source=method)
    )
    store.upsert_nodes("Image", nodes)
    edges = pd.DataFrame({"src": h["ad"], "dst": h["pdq"], "method": method, "confidence": 1.0})
    n = store.upsert_edges("HAS_IMAGE", edges)
    return n, len(nodes)
