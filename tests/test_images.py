"""Pictures as evidence, on both stores: loading (folder, ads column, hash list), matching
(PDQ, pHash, crops), generic pictures, the image evidence kind, named queries, and that
no picture, file name or URL ever reaches the store, the report or the quarantine.

The world is tiny and hand-built: six ads on five phones (five identifier components).
- a1 (phone P1) shows picture 20; a2 (P2) shows picture 20 cropped by 8 % on two sides,
  a3 (P2) the same picture mirrored: one picture group across two phones;
- a4 (P3) shows picture 21 framed with a 15 % border, a5 (P4) picture 21 re-encoded;
- every ad except a6 also shows the "verified" badge: four unrelated phone groups (P1 to
  P4), so it is generic and never links ads;
- a6 (P5) shows picture 22, which nothing else shows.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import ImageOps

from ownergraph.linking import image_match as im
from ownergraph.linking.image_hashes import hamming, hash_picture
from ownergraph.loaders.images import read_hash_list
from ownergraph.loaders.quarantine import Quarantine
from ownergraph.owners import communities as cm
from ownergraph.queries.registry import run_named
from ownergraph.report import write_report
from ownergraph.stages import evidence as evidence_io
from ownergraph.stages.images import load_images
from ownergraph.stages.owners import detect_owners, owner_detail
from ownergraph.store.base import Store
from ownergraph.synth.photos import edit, picture, stock_picture

PHONES = {"a1": "+17025550101", "a2": "+17025550102", "a3": "+17025550102",
          "a4": "+17025550103", "a5": "+17025550104", "a6": "+17025550105"}  # fmt: skip


def _crop(img, share=0.08):
    w, h = img.size
    return img.crop((int(w * share), int(h * share), w, h))


def _pictures() -> dict[str, list]:
    p20, p21, p22 = picture(20), picture(21), picture(22)
    badge = stock_picture("badge")
    return {
        "a1": [p20, badge],
        "a2": [_crop(p20), badge],
        "a3": [ImageOps.mirror(p20), badge],
        "a4": [ImageOps.expand(p21, border=int(0.15 * 300), fill=(20, 20, 20)), badge],
        "a5": [edit(p21, "jpeg", np.random.default_rng(0)), badge],
        "a6": [p22],
    }


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pics") / "secret-victim-folder"
    for ad, imgs in _pictures().items():
        for n, img in enumerate(imgs):
            (root / ad).mkdir(parents=True, exist_ok=True)
            img.save(root / ad / f"jane_doe_{n}.jpg", "JPEG", quality=90)
    return root


def _ads(store: Store) -> None:
    store.upsert_nodes(
        "Ad", [{"id": a, "title": f"ad {a}", "state": "NV", "city": "Las Vegas"} for a in PHONES]
    )
    store.upsert_nodes("Phone", [{"number": p} for p in sorted(set(PHONES.values()))])
    store.upsert_edges(
        "HAS_PHONE",
        [{"src": a, "dst": p, "method": "test", "confidence": 1.0} for a, p in PHONES.items()],
    )


def _groups(store: Store) -> dict[str, set[str]]:
    """ad -> picture groups (non-generic) it shows."""
    rows = store.query(
        "MATCH (a:Ad)-[:HAS_IMAGE]->(i:Image) WHERE i.generic = false "
        "RETURN a.id AS ad, i.picture AS picture"
    )
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(r["ad"], set()).add(r["picture"])
    return out


def test_edits_match_and_different_pictures_do_not():
    base = hash_picture(picture(30))
    other = hash_picture(picture(31))
    r = im.Radii()
    for kind in ("jpeg", "resize", "watermark"):
        h = hash_picture(edit(picture(30), kind, np.random.default_rng(1)))
        assert hamming(h.pdq, base.pdq) <= r.pdq, kind
    assert hamming(other.pdq, base.pdq) > 2 * r.pdq
    assert hamming(other.phash, base.phash) > r.phash
    # a crop defeats neither matcher? the crop matcher finds it within its radius
    cropped = hash_picture(_crop(picture(30)))
    best = min(hamming(q, c) for q in cropped.crop_queries for c in base.crops)
    assert best <= r.crops


def test_load_match_and_generic(store: Store, folder: Path, tmp_path: Path):
    _ads(store)
    q = Quarantine(tmp_path / "q.jsonl")
    out = load_images(store, folder=folder, workers=1, quarantine=q)
    assert (out.refs, out.hashed, out.loaded, out.quarantined) == (11, 11, 11, 0)
    assert store.counts()["HAS_IMAGE"] == 11
    link = out.link
    assert link.generic_groups == 1
    groups = _groups(store)
    # the crop and the mirror join picture 20; the border and the re-encode join 21
    assert groups["a1"] == groups["a2"] == groups["a3"]
    assert groups["a4"] == groups["a5"]
    assert groups["a1"] != groups["a4"] and groups["a6"] not in (groups["a1"], groups["a4"])
    methods = {r["m"] for r in store.query("MATCH ()-[s:SIMILAR_TO]->() RETURN s.method AS m")}
    assert "crops" in methods
    gen = store.query(
        "MATCH (i:Image) WHERE i.generic = true "
        "RETURN DISTINCT i.components AS c, i.generic_reason AS r"
    )
    assert gen == [{"c": 4, "r": "shown under 4 unrelated phone/e-mail groups"}]
    # the image evidence kind: generic pictures never count; matched groups do
    ev = evidence_io.fetch_evidence(store)
    img = ev[ev["kind"] == "image"]
    assert set(img["ad"]) == set(PHONES)
    assert img.groupby("hub")["ad"].nunique().max() == 3  # no hub for the badge's 5 ads
    assert (img["confidence"] > 0.99).all()


def test_only_new_ads_are_hashed_and_the_result_equals_one_load(
    store: Store, folder: Path, tmp_path: Path
):
    """An incremental run hashes the pictures of its new ads only (``only_ads``), appends
    to the hashed list, and matches every picture: the same groups as one whole load."""
    _ads(store)
    hashed = tmp_path / "hashed.csv"
    first = load_images(store, folder=folder, workers=1, hashed_to=hashed,
                        only_ads=["a1", "a2", "a4"])  # fmt: skip
    assert (first.refs, first.hashed) == (6, 6)
    later = load_images(store, folder=folder, workers=1, hashed_to=hashed,
                        only_ads=["a3", "a5", "a6"])  # fmt: skip
    assert (later.refs, later.hashed, later.loaded) == (5, 5, 5)
    rows = pd.read_csv(hashed)
    assert len(rows) == 11 and set(rows["ad"]) == set(PHONES)
    assert store.counts()["HAS_IMAGE"] == 11
    groups = _groups(store)
    assert groups["a1"] == groups["a2"] == groups["a3"] and groups["a4"] == groups["a5"]
    assert later.link.generic_groups == 1 and len(set(map(frozenset, groups.values()))) == 3


def test_owner_groups_with_images(store: Store, folder: Path):
    _ads(store)
    load_images(store, folder=folder, workers=1)
    # given image weights: the photo joins the phone groups that share it, not the badge
    detect_owners(store, weights=cm.EvidenceWeights.only("phone", "email", "image"))
    own = {r["ad"]: r["o"] for r in store.query(
        "MATCH (a:Ad)-[:BELONGS_TO]->(o:Owner) RETURN a.id AS ad, o.id AS o")}  # fmt: skip
    assert own["a1"] == own["a2"] == own["a3"] and own["a4"] == own["a5"]
    assert len({own["a1"], own["a4"], own["a6"]}) == 3
    d = owner_detail(store, own["a1"])
    assert [(r["ads"], r["generic"]) for r in d["images"]] == [(3, False), (3, True)]
    kinds = {r["kind"] for r in d["links"]}
    assert "image" in kinds
    # calibrated (the default): too few identifier-linked ads to measure -> hard only
    s = detect_owners(store)
    assert s.calibration["setting"] == "hard identifiers"
    assert s.links.get("image") is None


def test_named_queries_with_pictures(store: Store, folder: Path):
    _ads(store)
    load_images(store, folder=folder, workers=1)
    detect_owners(store, weights=cm.EvidenceWeights.only("phone", "email", "image"))
    a1_owner = store.query("MATCH (:Ad {id: 'a1'})-[:BELONGS_TO]->(o:Owner) RETURN o.id AS o")
    rows = run_named(store, "owner_images", {"owner_id": a1_owner[0]["o"]})
    assert [(r["ads"], r["ads_elsewhere"], r["hashes"], r["generic"]) for r in rows] == [
        (3, 0, 3, False),
        (3, 2, 1, True),  # the badge: 2 more ads (a4, a5) in another group
    ]
    shared = run_named(store, "ads_sharing_image", {"ad_id": "a1"})
    non_generic = sorted({r["ad"] for r in shared if not r["generic"]})
    assert non_generic == ["a2", "a3"]
    assert sorted({r["ad"] for r in shared if r["generic"]}) == ["a2", "a3", "a4", "a5"]


def test_no_picture_file_name_or_url_reaches_store_report_or_quarantine(
    store: Store, folder: Path, tmp_path: Path
):
    _ads(store)
    ads_file = tmp_path / "ads.jsonl"
    rows = [
        {"id": "a1", "pics": [str(folder / "a1" / "jane_doe_0.jpg"), "https://img.example/x.jpg"]},
        {"id": "a2", "pics": "a2/missing.jpg"},
        {"id": "zz", "pics": [str(folder / "a6" / "jane_doe_0.jpg")]},
    ]
    ads_file.write_text("".join(json.dumps(r) + "\n" for r in rows))
    qpath = tmp_path / "quarantine.jsonl"
    with Quarantine(qpath) as q:
        out = load_images(store, ads=ads_file, column="pics", quarantine=q, workers=1)
    # every reference loaded or quarantined with its reason; the URL is never fetched
    assert out.refs == 4 and out.loaded == 1 and out.quarantined == 3
    reasons = [json.loads(line)["reason"] for line in qpath.read_text().splitlines()]
    assert [r.split(":")[0] for r in reasons] == ["url", "missing file", "unknown ad"]
    load_images(store, folder=folder, workers=1)
    detect_owners(store, weights=cm.EvidenceWeights.only("phone", "email", "image"))
    owner = store.query("MATCH (:Ad {id: 'a1'})-[:BELONGS_TO]->(o:Owner) RETURN o.id AS o")
    report = write_report(store, owner[0]["o"], tmp_path / "report.html").read_text()
    dump = json.dumps(
        store.query("MATCH (i:Image) RETURN i.hash, i.phash, i.crops, i.source, i.picture, "
                    "i.generic_reason"), default=str)  # fmt: skip
    dump += json.dumps(
        store.query("MATCH (:Ad)-[e:HAS_IMAGE]->(:Image) RETURN e.method, e.confidence")
    )
    for text in (dump, report, qpath.read_text()):
        for secret in ("jane_doe", "secret-victim-folder", "img.example", "JFIF", "a1/"):
            assert secret not in text
    assert ".jpg" not in dump + qpath.read_text()  # (the report's cytoscape.js says ".jpg")
    assert "IMG-" in report and "data:image" not in report


def test_hash_list_loads_without_pictures(store: Store, tmp_path: Path):
    _ads(store)
    h20 = hash_picture(picture(20))
    h20c = hash_picture(_crop(picture(20)))
    path = tmp_path / "hashes.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ad_id", "pdq", "phash", "pdq_quality", "crops"])
        w.writerow(["a1", h20.pdq, h20.phash, h20.pdq_quality, ";".join(h20.crops)])
        w.writerow(["a4", h20c.pdq, h20c.phash, h20c.pdq_quality, ";".join(h20c.crops)])
        w.writerow(["a5", "xyz", "", "", ""])
        w.writerow(["a6", h20.pdq, h20.phash, "150", ""])
    q = Quarantine()
    out = load_images(store, hashes=path, quarantine=q)
    assert out.loaded == 2 and out.quarantined == 2
    assert sorted(r[2] for r in q.rejected) == ["pdq: not a 256-bit hex hash",
                                                 "pdq_quality: not in 0-100"]  # fmt: skip
    assert _groups(store)["a1"] == _groups(store)["a4"]
    # a list with only PDQ (no pHash, no crops) loads and matches by PDQ alone
    only = read_hash_list(path)
    assert len(only) == 2


def test_pairs_within_scales_past_the_exact_index():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 256, (3000, 32), dtype=np.uint8)
    bits = np.unpackbits(codes[:50], axis=1)
    bits[:, :10] ^= 1  # 50 near-copies at distance 10
    codes = np.vstack([codes, np.packbits(bits, axis=1)])
    exact = im.pairs_within(codes, 31)
    ivf = im.pairs_within(codes, 31, exact_max=1000, cells=64, nprobe=64)
    want = {(i, 3000 + i) for i in range(50)}
    assert set(zip(exact["q"], exact["i"], strict=True)) == want
    assert set(zip(ivf["q"], ivf["i"], strict=True)) == want  # every cell probed: exact


def test_generic_groups_counts_components_not_ads():
    links = pd.DataFrame(
        {
            "group": ["g1"] * 5 + ["g2"] * 4,
            "ad": ["a", "b", "c", "d", "e", "f", "g", "h", "i"],
            "component": [1, 1, 1, 2, np.nan, 3, 4, 5, 6],
        }
    )
    out = im.generic_groups(links, min_components=4).set_index("group")
    assert out.loc["g1", "generic"] == False  # noqa: E712 - 5 ads, 2 components
    assert out.loc["g2", "generic"] == True  # noqa: E712


def test_project_file_images_folder_adds_the_stage(tmp_path: Path, folder: Path):
    from ownergraph.project import load_project

    (tmp_path / "ads.jsonl").write_text('{"id": "a1", "title": "t", "body": "b"}\n')
    (tmp_path / "p.toml").write_text(
        f'[[ads]]\npath = "ads.jsonl"\n\n[images]\nfolder = "{folder}"\n'
    )
    p = load_project(tmp_path / "p.toml")
    assert p.images == folder and p.stages == ("ads", "authors", "images", "owners")


def test_a_picture_an_owner_reuses_under_many_phones_is_not_generic():
    # owner X posts pictures p, q, r under phones 1-5 (rotating burners); stock s is
    # shown by five owners (phones 11-15) who share nothing else, and by X's phone 1
    rows = [("p", f"x{i}", i) for i in range(1, 6)] + [("q", f"y{i}", i) for i in (1, 2, 3)]
    rows += [("r", f"z{i}", i) for i in (3, 4, 5)] + [("s", f"s{i}", i) for i in range(11, 16)]
    rows += [("s", "x1", 1)]
    links = pd.DataFrame(rows, columns=["group", "ad", "component"])
    out = im.generic_groups(links, min_components=4).set_index("group")
    assert out.loc["p", "corroboration"] == 1.0 and not out.loc["p", "generic"]
    assert out.loc["s", "generic"] and out.loc["s", "components"] == 6
