"""Pictures as evidence, in one run:

1. the SoCal/LV Backpage set (``../shared/data/ads``, skipped when absent): pictures per
   ad, image URLs shown by several ads, and under how many phone groups (what the
   synthetic world's photo reuse is calibrated against);
2. per seed, a photo set (shipped photographs + procedural pictures, each under every
   edit): the radius of each matcher calibrated for pair precision >= 99.9 % on half the
   pictures, then on the other half recall per edit (an edited copy found with its
   original) and pair precision, for PDQ, pHash, the crop matcher and their combination;
3. pictures hashed per second (PDQ + pHash + crop hashes, from JPEG files, 2 processes);
4. owner B-cubed F1 on a synthetic world with photos: hard identifiers only, with images
   under the do-no-harm calibration (the default), and with images joining as given;
5. 1M PDQ hashes (random, with planted near-duplicates) matched within radius 31:
   seconds (faiss binary IVF), recall of the planted pairs, against an exact flat range
   search extrapolated from a sample of queries.

    python benchmarks/bench_images.py                 # everything
    python benchmarks/bench_images.py --skip-million  # without step 5
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ownergraph.linking import image_match as im
from ownergraph.linking.image_hashes import N_QUERIES, PDQ_BITS, PHASH_BITS, bits_from_hex
from ownergraph.loaders.images import ImageRef, hash_refs
from ownergraph.synth.photos import EDITS, PHOTOS, edit, picture

SOCAL = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "ads"
    / ("dig_backpage_socal_lasvegas_2014.json")
)


def real_reuse() -> None:
    if not SOCAL.exists():
        print("SoCal/LV set: absent, skipped")
        return
    from ownergraph.loaders.identifiers import extract_phones

    url_ads: dict[str, set] = collections.defaultdict(set)
    url_records: dict[str, set] = collections.defaultdict(set)
    phones: dict[str, set] = {}
    per_ad: dict[str, int] = {}
    for i, rec in enumerate(json.loads(SOCAL.read_text())):
        snaps = rec.get("dig:snapshot", {})
        for s in snaps if isinstance(snaps, list) else [snaps]:
            ad = (s.get("dig:preferredIdentifier") or {}).get("rdfs:label")
            text = " ".join(
                (s.get(k) or {}).get("schema:text") or "" for k in ("dig:hasTitlePart",
                                                                    "dig:hasBodyPart")
            )  # fmt: skip
            phones.setdefault(ad, set()).update(m.e164 for m in extract_phones(text))
            imgs = s.get("dig:hasImagePart") or []
            imgs = [imgs] if isinstance(imgs, dict) else imgs
            per_ad[ad] = max(per_ad.get(ad, 0), len(imgs))
            for x in imgs:
                u = x.get("schema:url") or x.get("@id")
                url_ads[u].add(ad)
                url_records[u].add(i)
    shared = {u: a for u, a in url_ads.items() if len(a) > 1}
    n_phone = collections.Counter(len(set().union(*(phones[a] for a in ads)))
                                  for ads in shared.values())  # fmt: skip
    sizes = collections.Counter(len(a) for a in shared.values())
    print(
        f"SoCal/LV Backpage: {len(per_ad):,} ads, {len(url_ads):,} image URLs, "
        f"median {int(np.median(list(per_ad.values())))} pictures per ad; "
        f"{sum(len(r) > 1 for r in url_records.values()):,} URLs are in more than one "
        f"record, but only {len(shared)} in more than one distinct ad (the rest are "
        f"re-crawls of one ad); ads per shared URL {dict(sorted(sizes.items()))}; "
        f"phones per shared URL {dict(sorted(n_phone.items()))} -> no URL is shown under "
        f"more than {max(n_phone)} phones (generic threshold: "
        f"{im.GENERIC_MIN_COMPONENTS} components)"
    )


def photo_set(seed: int, n: int, root: Path) -> tuple[pd.DataFrame, float]:
    """n pictures x every edit as JPEG files, hashed with 2 processes; (table, files/s)."""
    rng = np.random.default_rng(seed)
    refs = []
    meta = []
    first = len(PHOTOS) + seed * 10_000
    ks = list(range(len(PHOTOS))) + list(range(first, first + n - len(PHOTOS)))
    for k in ks:
        base = picture(k, seed)
        for e in EDITS:
            p = root / f"{k}_{e}.jpg"
            edit(base, e, rng).save(p, "JPEG", quality=90)
            refs.append(ImageRef("x", str(p), p.name))
            meta.append((k, e))
    t = time.perf_counter()
    rows = hash_refs(refs, workers=2)
    rate = len(rows) / (time.perf_counter() - t)
    rows["picture"] = [m[0] for m in meta]
    rows["edit"] = [m[1] for m in meta]
    return rows.drop(columns=["ref", "ad"]), rate


def crop_codes(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    codes, owner, queries, qowner = [], [], [], []
    for i, cs in enumerate(df["crops"].str.split(";")):
        codes += cs
        owner += [i] * len(cs)
        queries += cs[:N_QUERIES]
        qowner += [i] * N_QUERIES
    return (bits_from_hex(codes, PHASH_BITS), np.asarray(owner),
            bits_from_hex(queries, PHASH_BITS), np.asarray(qowner))  # fmt: skip


def calibrate(df: pd.DataFrame) -> im.Radii:
    truth = df["picture"].to_numpy()
    r = {}
    for m, bits, top in (("pdq", PDQ_BITS, 90), ("phash", PHASH_BITS, 24)):
        r[m] = im.calibrate_radius(bits_from_hex(df[m].tolist(), bits), truth, top)["radius"]
    codes, owner, q, qo = crop_codes(df)
    c = im.calibrate_radius(codes, truth[owner], 24, queries=(q, truth[qo]))
    r["crops"] = c["radius"]
    return im.Radii(**{k: (-1 if v is None else v) for k, v in r.items()})


def measure(df: pd.DataFrame, radii: im.Radii) -> dict[str, dict]:
    """Pair precision and recall per edit of each matcher and of their union."""
    pairs = im.match_pictures(df.reset_index(drop=True), radii)
    # every matcher on its own (match_pictures keeps the first matcher per pair)
    per = {}
    for m in ("pdq", "phash", "crops"):
        only = im.match_pictures(
            df.reset_index(drop=True),
            im.Radii(**{k: (v if k == m else -1) for k, v in radii.as_dict().items()}),
        )
        per[m] = only
    per["combined"] = pairs
    truth = df["picture"].to_numpy()
    edits = df["edit"].to_numpy()
    orig = {k: i for i, (k, e) in enumerate(zip(truth, edits, strict=True)) if e == "none"}
    out = {}
    for m, p in per.items():
        a, b = p["a"].to_numpy(), p["b"].to_numpy()
        same = truth[a] == truth[b]
        found = set(zip(a[same], b[same], strict=True))
        rec = {}
        for e in EDITS[1:]:
            idx = [i for i in range(len(df)) if edits[i] == e]
            hit = [(min(i, orig[truth[i]]), max(i, orig[truth[i]])) in found for i in idx]
            rec[e] = float(np.mean(hit))
        out[m] = {"precision": float(same.mean()) if len(same) else 1.0, "pairs": len(same),
                  "recall": rec}  # fmt: skip
    return out


def photo_benchmark(seeds: list[int], n: int) -> None:
    results, rates = [], []
    for seed in seeds:
        root = Path(tempfile.mkdtemp(prefix="bench-img-"))
        try:
            df, rate = photo_set(seed, n, root)
        finally:
            shutil.rmtree(root)
        rates.append(rate)
        pics = df["picture"].unique()
        cal_pics = set(pics[::2])
        cal = df[df["picture"].isin(cal_pics)].reset_index(drop=True)
        test = df[~df["picture"].isin(cal_pics)].reset_index(drop=True)
        radii = calibrate(cal)
        results.append((radii, measure(test, radii), measure(test, im.Radii())))
        print(f"seed {seed}: {len(df)} files of {len(pics)} pictures; radii calibrated on "
              f"half the pictures for pair precision >= 99.9 %: {radii.as_dict()}")  # fmt: skip
    print(f"\npictures hashed per second (PDQ + pHash + {len(df['crops'][0].split(';'))} crop "
          f"pHashes, JPEG files, 2 processes): {np.mean(rates):.1f} "
          f"(seeds: {', '.join(f'{r:.1f}' for r in rates)})")  # fmt: skip
    for which, label in ((1, "radii calibrated on the other half"),
                         (2, f"default radii {im.Radii().as_dict()}")):  # fmt: skip
        print(
            f"\nheld-out pictures, {label}; mean over seeds {seeds} (min-max): recall of "
            "an edited copy with its original, pair precision over every pair"
        )
        rows = []
        for m in ("pdq", "phash", "crops", "combined"):
            row = {"matcher": m}
            for e in EDITS[1:]:
                v = [r[which][m]["recall"][e] for r in results]
                row[e] = f"{np.mean(v):.2f} ({min(v):.2f}-{max(v):.2f})"
            p = [r[which][m]["precision"] for r in results]
            row["pair precision"] = f"{np.mean(p):.4f} (min {min(p):.4f})"
            row["pairs"] = sum(r[which][m]["pairs"] for r in results)
            rows.append(row)
        print(pd.DataFrame(rows).set_index("matcher").to_string())
    print(
        "(Thorn's real-photo figures for PDQ: 9 % recall after a 5 % crop, 1-2 % after a "
        "20 % border)"
    )


def owners_benchmark(ads: int, seed: int) -> None:
    from ownergraph.owners import communities as cm
    from ownergraph.pipeline import run_pipeline
    from ownergraph.stages.images import link_images
    from ownergraph.store.embedded import EmbeddedStore
    from ownergraph.synth.photos import add_photos
    from ownergraph.synth.world import generate_world

    root = Path(tempfile.mkdtemp(prefix="bench-img-world-"))
    try:
        generate_world(root / "world", n_ads=ads, seed=seed)
        t = time.perf_counter()
        info = add_photos(root / "world", seed=seed)
        print(f"\nworld seed {seed}: {ads} ads, {info['files']} picture files of "
              f"{info['pictures']} pictures ({time.perf_counter() - t:.0f} s to draw)")  # fmt: skip
        t = pd.read_csv(root / "world" / "truth" / "images.csv")
        own = t[~t["stock"]].groupby("picture_id")["ad_id"].nunique()
        shared = own[own > 1]
        stock_owners = t[t["stock"]].groupby("picture_id")["owner_id"].nunique().tolist()
        print(f"world: median {int(t.groupby('ad_id').size().median())} pictures per ad; "
              f"ads per reused own picture: median {shared.median():.0f}, "
              f"{dict(sorted(collections.Counter(shared.clip(upper=10)).items()))} "
              f"(SoCal/LV: 2-5, median 3); stock pictures shown by "
              f"{stock_owners} owners")  # fmt: skip
        rows = []
        with EmbeddedStore(root / "g.lbug") as s:
            r = run_pipeline(s, root / "world", work_dir=root / "run", seed=seed,
                             stages=("ads", "images", "owners", "evaluate"))  # fmt: skip
            img = r.evaluation.get("images", {})
            for label, weights, rule in (
                ("hard identifiers only", cm.EvidenceWeights.only("phone", "email"), None),
                ("+ images, calibrated (default: do-no-harm)", None, None),
                ("+ images, calibrated, joins judged by cut-and-rejoin (--joins cut)", None,
                 "cut"),
                ("+ images joining as given", cm.EvidenceWeights.only("phone", "email",
                                                                      "image"), None),
            ):  # fmt: skip
                from ownergraph.evaluate import evaluate, predictions_from_store
                from ownergraph.owners.calibration import DEFAULT_JOIN_RULE
                from ownergraph.stages.owners import detect_owners

                summ = detect_owners(
                    s, weights=weights, seed=seed, join_rule=rule or DEFAULT_JOIN_RULE
                )
                m = evaluate(
                    "owners", root / "world" / "truth", predictions_from_store(s, "owners")
                )
                if weights is None:
                    print(f"calibration ({label}): {summ.calibration.get('reason')}; joins: "
                          f"{summ.calibration.get('joins')}")  # fmt: skip
                rows.append({"setting": label, "B3 precision": round(m["bcubed_precision"], 4),
                             "B3 recall": round(m["bcubed_recall"], 4),
                             "B3 F1": round(m["bcubed_f1"], 4),
                             "chosen": summ.calibration.get("setting", "as given")})  # fmt: skip
            link = link_images(s)
        print(pd.DataFrame(rows).to_string(index=False))
        print(f"picture groups vs truth: {json.dumps(img)}")
        print(f"matching in the store: {link.matches} pairs {link.matches_by_method}, "
              f"{link.generic_groups} generic groups")  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)


def million(n: int, planted: int) -> None:
    import faiss

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    bits = np.unpackbits(x[:planted], axis=1)
    flips = rng.integers(0, 25, planted)
    for i, k in enumerate(flips):
        bits[i, rng.choice(256, k, replace=False)] ^= 1
    x[n - planted :] = np.packbits(bits, axis=1)
    t = time.perf_counter()
    pairs = im.pairs_within(x, 31)
    secs = time.perf_counter() - t
    got = set(zip(pairs["q"].to_numpy(), pairs["i"].to_numpy(), strict=True))
    want = {(i, n - planted + i) for i in range(planted)}
    recall = len(got & want) / len(want)
    # the reference: an exact flat range search, timed on a sample of queries
    sample = 5_000
    flat = faiss.IndexBinaryFlat(256)
    flat.add(x)
    t = time.perf_counter()
    flat.range_search(x[:sample], 32)
    flat_secs = (time.perf_counter() - t) * n / sample
    print(f"\n{n:,} PDQ hashes ({planted:,} planted near-duplicates at 0-24 bits) matched "
          f"within radius 31 on {faiss.omp_get_max_threads()} cores: {secs:.0f} s "
          f"({'within' if secs <= 600 else 'OVER'} 10 min), {len(pairs):,} pairs, recall of the "
          f"planted pairs {recall:.4f}; exact flat search (extrapolated from {sample:,} "
          f"queries): {flat_secs:.0f} s -> {flat_secs / secs:.1f}x faster")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--pictures", type=int, default=80, help="pictures per seed")
    ap.add_argument("--world-ads", type=int, default=1500)
    ap.add_argument("--world-seed", type=int, default=101)
    ap.add_argument("--million", type=int, default=1_000_000)
    ap.add_argument("--planted", type=int, default=100_000)
    ap.add_argument("--skip-million", action="store_true")
    ap.add_argument("--skip-world", action="store_true")
    ap.add_argument("--skip-photos", action="store_true")
    a = ap.parse_args(argv)
    real_reuse()
    if not a.skip_photos:
        photo_benchmark(a.seeds, a.pictures)
    if not a.skip_world:
        owners_benchmark(a.world_ads, a.world_seed)
    if not a.skip_million:
        million(a.million, a.planted)


if __name__ == "__main__":
    sys.exit(main())
