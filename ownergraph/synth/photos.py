"""Photos for the synthetic world: real photographs, procedural pictures, and the edits
owners make when they post them again.

Pictures come from nothing downloaded: the photographs scikit-image ships in its
package (``skimage.data``: astronaut, cat, coffee, rocket, ... and the 200 small faces of
``lfw_subset``), and procedural pictures built from them (a gradient background, a piece
of a photograph, a face, a few shapes), each seeded. :func:`edit` applies what owners do
to a photo they post again: JPEG re-encoding, resizing, cropping, a border, a watermark,
a text caption, mirroring.

:func:`add_photos` gives every ad of a generated world its pictures: each owner has a
few pictures of their own and reuses them across their ads (ads per reused picture and
pictures per ad calibrated against the SoCal/LV Backpage set, see
``benchmarks/bench_images.py``); stock pictures (photographs, a logo, a "verified" badge,
a placeholder) are shared by unrelated owners. ``truth/images.csv`` records which
picture each file shows, under which edit, and whether it is stock.
"""

from __future__ import annotations

import csv
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

SIZE = (300, 400)  # width, height of a picture before edits
# scikit-image's shipped photographs (no textures: brick, grass, gravel look alike)
PHOTOS = ("astronaut", "camera", "cat", "chelsea", "coffee", "coins", "horse",
          "hubble_deep_field", "immunohistochemistry", "moon", "retina", "rocket")  # fmt: skip
EDITS = ("none", "jpeg", "resize", "crop", "border", "watermark", "text", "mirror")
# Edits of a reposted photo and how often owners make them (none = the same file again)
EDIT_WEIGHTS = {"none": 0.3, "jpeg": 0.15, "resize": 0.15, "crop": 0.1, "border": 0.08,
                "watermark": 0.08, "text": 0.08, "mirror": 0.06}  # fmt: skip
STOCK_KINDS = ("logo", "badge", "placeholder", "photo")


@cache
def _photo(name: str) -> Image.Image:
    import skimage.data

    a = getattr(skimage.data, name)()
    img = Image.fromarray(a)
    return ImageOps.fit(img.convert("RGB"), SIZE, Image.Resampling.BILINEAR)


@cache
def _faces() -> np.ndarray:
    import skimage.data

    return skimage.data.lfw_subset()  # 200 x 25 x 25 floats in [0, 1]


def _rng(seed: int, *parts: object) -> np.random.Generator:
    key = "/".join(str(p) for p in (seed, *parts)).encode()
    return np.random.default_rng(zlib.crc32(key))


def picture(k: int, seed: int = 0) -> Image.Image:
    """Picture number ``k``: a shipped photograph (k < len(PHOTOS)), else a procedural one."""
    if k < len(PHOTOS):
        return _photo(PHOTOS[k]).copy()
    rng = _rng(seed, "picture", k)
    w, h = SIZE
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0, 1, h)[:, None, None]
    bg = (c0 * (1 - t) + c1 * t) * np.ones((1, w, 1))
    img = Image.fromarray(bg.astype(np.uint8))
    src = _photo(PHOTOS[int(rng.integers(len(PHOTOS)))])
    pw, ph = int(w * rng.uniform(0.4, 0.8)), int(h * rng.uniform(0.3, 0.6))
    sx, sy = int(rng.integers(0, w - pw + 1)), int(rng.integers(0, h - ph + 1))
    at = (int(rng.integers(0, w - pw + 1)), int(rng.integers(0, h - ph + 1)))
    img.paste(src.crop((sx, sy, sx + pw, sy + ph)), at)
    face = _faces()[int(rng.integers(200))]
    fs = int(rng.integers(110, 190))
    fimg = Image.fromarray((face * 255).astype(np.uint8)).resize((fs, fs)).convert("RGB")
    img.paste(fimg, (int(rng.integers(0, w - fs)), int(rng.integers(0, h - fs))))
    d = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(3, 8))):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(15, 90)), y0 + int(rng.integers(15, 90))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        (d.ellipse if rng.random() < 0.5 else d.rectangle)((x0, y0, x1, y1), fill=fill)
    return img


def stock_picture(kind: str, k: int = 0) -> Image.Image:
    """A generic picture unrelated owners share: a site logo, a "verified" badge, a
    placeholder, or a stock photograph."""
    w, h = SIZE
    if kind == "photo":
        return picture(k % len(PHOTOS))
    img = Image.new("RGB", SIZE, (240, 240, 240) if kind == "placeholder" else (255, 255, 255))
    d = ImageDraw.Draw(img)
    if kind == "logo":
        import skimage.data

        logo = Image.fromarray(skimage.data.logo()).convert("RGB").resize((w - 40, w - 40))
        img.paste(logo, (20, (h - w) // 2 + 20))
    elif kind == "badge":
        d.ellipse((50, 100, w - 50, h - 100), fill=(30, 140, 60))
        d.line((100, 200, 140, 250, 210, 150), fill=(255, 255, 255), width=18)
        d.text((110, 320), "VERIFIED", fill=(30, 140, 60))
    else:
        d.rectangle((60, 120, w - 60, h - 120), outline=(180, 180, 180), width=6)
        d.text((105, 195), "NO PHOTO", fill=(150, 150, 150))
    return img


def edit(img: Image.Image, kind: str, rng: np.random.Generator) -> Image.Image:
    """One edit an owner makes to a photo before posting it again (``EDITS``)."""
    w, h = img.size
    if kind == "none":
        return img.copy()
    if kind == "jpeg":
        import io

        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=int(rng.integers(20, 50)))
        buf.seek(0)
        return Image.open(buf).convert("RGB")
    if kind == "resize":
        s = rng.uniform(0.35, 0.7)
        return img.resize((max(8, int(w * s)), max(8, int(h * s))), Image.Resampling.BILINEAR)
    if kind == "crop":  # 5-12 % cut from one to four sides
        cut = rng.uniform(0.05, 0.12, 4) * (rng.random(4) < 0.6)
        if not cut.any():
            cut[int(rng.integers(4))] = rng.uniform(0.05, 0.12)
        box = (int(w * cut[0]), int(h * cut[1]), int(w * (1 - cut[2])), int(h * (1 - cut[3])))
        return img.crop(box)
    if kind == "border":  # a frame 10-20 % of the side
        b = int(min(w, h) * rng.uniform(0.10, 0.20))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        return ImageOps.expand(img, border=b, fill=fill)
    if kind == "watermark":
        out = img.convert("RGBA")
        layer = Image.new("RGBA", out.size, (0, 0, 0, 0))
        d = ImageDraw.Draw(layer)
        for y in range(10, h, 60):
            d.text(
                (int(rng.integers(0, 40)), y), "www.example-escorts.com", fill=(255, 255, 255, 110)
            )
        return Image.alpha_composite(out, layer).convert("RGB")
    if kind == "text":  # a caption bar across the bottom
        out = img.copy()
        d = ImageDraw.Draw(out)
        bar = int(h * rng.uniform(0.08, 0.14))
        d.rectangle((0, h - bar, w, h), fill=(0, 0, 0))
        d.text((10, h - bar + 5), "NEW IN TOWN - CALL NOW 24/7", fill=(255, 255, 0))
        return out
    if kind == "mirror":
        return ImageOps.mirror(img)
    raise ValueError(f"unknown edit {kind!r}; known: {EDITS}")


@dataclass(frozen=True)
class PhotoConfig:
    """Knobs of the world's photos (calibrated against the SoCal/LV Backpage set)."""

    # pictures per ad: 1..max (SoCal/LV: median 5; kept small, hashing is CPU heavy)
    max_per_ad: int = 2
    # own pictures per owner: about one per this many ads, at least 1
    ads_per_picture: float = 3.0
    # share of owners who also show a stock picture, and how many stock pictures exist
    stock_owner_share: float = 0.15
    n_stock: int = len(STOCK_KINDS)  # one of each kind: two logos would be one picture
    edit_weights: tuple[tuple[str, float], ...] = tuple(EDIT_WEIGHTS.items())


TRUTH_COLUMNS = ["ad_id", "file", "picture_id", "edit", "stock", "owner_id"]


def add_photos(
    world: str | Path,
    seed: int = 0,
    config: PhotoConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    max_ads: int | None = None,
) -> dict[str, int]:
    """Write pictures for every ad of a generated world to ``world/images/<ad_id>/<n>.jpg``
    and their truth to ``world/truth/images.csv``; returns counts. ``max_ads``: only
    owners drawn at random (seeded) until they post this many ads get pictures (drawing
    and hashing pictures is CPU heavy)."""
    cfg = config or PhotoConfig()
    world = Path(world)
    with (world / "truth" / "ads.csv").open(encoding="utf-8") as f:
        ads = [(r["ad_id"], r["owner_id"]) for r in csv.DictReader(f)]
    by_owner: dict[str, list[str]] = {}
    for ad, owner in ads:
        by_owner.setdefault(owner, []).append(ad)
    edits, weights = zip(*cfg.edit_weights, strict=True)
    p = np.asarray(weights, float) / sum(weights)
    stock = [("stock", STOCK_KINDS[i % len(STOCK_KINDS)], i) for i in range(cfg.n_stock)]
    next_picture = len(PHOTOS)  # the shipped photographs are stock; owners get procedural
    out_dir = world / "images"
    rows, files = [], 0
    owners = sorted(by_owner.items())
    if max_ads is not None:
        order = _rng(seed, "photo-owners").permutation(len(owners))
        kept, total = [], 0
        for i in order:
            if total + len(owners[i][1]) > max_ads:
                continue
            kept.append(owners[i])
            total += len(owners[i][1])
        owners = sorted(kept)
    for oi, (owner, owner_ads) in enumerate(owners):
        rng = _rng(seed, "owner", owner)
        n_own = max(1, round(len(owner_ads) / cfg.ads_per_picture))
        own = list(range(next_picture, next_picture + n_own))
        next_picture += n_own
        uses_stock = rng.random() < cfg.stock_owner_share
        for ad in owner_ads:
            k = int(rng.integers(1, cfg.max_per_ad + 1))
            chosen = [int(x) for x in rng.choice(own, size=min(k, len(own)), replace=False)]
            shown: list[tuple[str, int | str]] = [("own", c) for c in chosen]
            if uses_stock and rng.random() < 0.5:
                shown.append(("stock", int(rng.integers(cfg.n_stock))))
            for n, (what, c) in enumerate(shown):
                if what == "own":
                    base, pid, is_stock = picture(int(c), seed), f"P{c}", False
                else:
                    _, kind, i = stock[int(c)]
                    base, pid, is_stock = stock_picture(kind, i), f"S{c}", True
                ed = str(rng.choice(edits, p=p))
                img = edit(base, ed, rng)
                path = out_dir / ad / f"{n}.jpg"
                path.parent.mkdir(parents=True, exist_ok=True)
                img.save(path, "JPEG", quality=88)
                rows.append([ad, f"images/{ad}/{n}.jpg", pid, ed, is_stock, owner])
                files += 1
        if progress:
            progress(oi + 1, len(owners))
    with (world / "truth" / "images.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(TRUTH_COLUMNS)
        w.writerows(rows)
    n_ads = sum(len(a) for _, a in owners)
    return {"files": files, "pictures": len({r[2] for r in rows}), "ads": n_ads}
