"""Is the synthetic world as hard as real ads? Real Backpage sets beside synthetic worlds.

For every real set found in ``--data`` (the CA "Women Seeking Men" scrape, the DIG
Southern California/Las Vegas 2014 set and the DIG Washington 2013 set) and for synthetic
worlds of ``--ads`` ads made with ``--seeds``, prints side by side (mean ± sd over seeds;
a real set varies only by the split seed of the TF-IDF measure):

- plain TF-IDF TPR at FPR 1 %: the baseline of ``ownergraph.linking.stylometry.evaluate``
  (char_wb 2-5-gram cosine fitted on the train side), on held-out pairs labelled by
  shared phones/e-mails, split by identifier component, exactly as ``train_and_evaluate``
  samples them; also without near-duplicate pairs;
- near-duplicate share: ads whose masked text has a shingle Jaccard >= 0.9 with some
  other ad (exact over all pairs);
- ads per phone: share of phones in 1, 2-5, 6-20 and > 20 ads, and the mean;
- share of ads with any phone or e-mail;
- text length in characters (title + body, whitespace runs collapsed): quartiles;
- the share of ads with a structured ``name`` field;
- how often the most alike ads cross identifier components (``--model``): the product's
  stylometry model is trained as ``authors train`` does, and among the candidate pairs
  linking meets (each ad's nearest stylistic neighbours, a held-out end) the share in one
  identifier component is read off at 30 % and 50 % of the same-component pairs found,
  and at best. Low values mean many look-alike ads with different phones: owners with
  several phones who write alike (operations), or copy-paste templates of unrelated
  posters. This decides what stylometry can add to hard identifiers, and what can be
  checked with identifier labels.

Both sides go through the same code: identifiers from ``ownergraph.loaders.identifiers``
(``text_identifiers`` on ``title + "\\n" + body``), masking from the stylometry module.

Usage: python benchmarks/bench_world_vs_real.py [--ads 8000] [--seeds 1 2 3]
       [--data ../shared/data/ads] [--config world.json] [--model]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ownergraph.linking.stylometry.data import LabelledAds, read_ads
from ownergraph.linking.stylometry.evaluate import baseline_scores, tpr_at_fpr, train_and_evaluate
from ownergraph.linking.stylometry.masking import prepare_text
from ownergraph.linking.stylometry.pairs import (
    _shingle_sets,
    label_pairs,
    near_duplicates,
    split_groups,
    text_identifiers,
)
from ownergraph.synth import WorldConfig, generate_world

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ads"
CA = "backpage_women_seeking_men_california.csv"
SOCAL = "dig_backpage_socal_lasvegas_2014.json"
WA = "dig_backpage_washington_phones_2013.json"
NEAR_DUP = 0.9


# ---- reading ----


def _labelled(ids: list[str], titles: list[str], bodies: list[str], source: str) -> LabelledAds:
    texts = [f"{t or ''}\n{b or ''}" for t, b in zip(titles, bodies, strict=True)]
    return LabelledAds(ids, texts, [text_identifiers(t) for t in texts], None, source)


def read_socal(path: Path) -> LabelledAds:
    """DIG JSON-LD: title and body under ``dig:snapshot`` (a list when the page was crawled
    more than once: the first crawl is kept, one ad per page)."""
    rows = {}
    for rec in json.loads(path.read_text(encoding="utf-8")):
        snap = rec.get("dig:snapshot") or {}
        snap = (snap[0] if snap else {}) if isinstance(snap, list) else snap
        sid = rec.get("@id") or (snap.get("dig:preferredIdentifier") or {}).get("rdfs:label")
        title = (snap.get("dig:hasTitlePart") or {}).get("schema:text") or ""
        body = (snap.get("dig:hasBodyPart") or {}).get("schema:text") or ""
        rows.setdefault(str(sid), (title, body))
    ids = list(rows)
    return _labelled(ids, [rows[i][0] for i in ids], [rows[i][1] for i in ids], str(path))


def read_wa(path: Path) -> LabelledAds:
    """DIG Washington posts: ``titleText.content``, ``bodyText.content``, ``sid``."""
    rows = {}
    for rec in json.loads(path.read_text(encoding="utf-8")):
        title = (rec.get("titleText") or {}).get("content") or ""
        body = (rec.get("bodyText") or {}).get("content") or ""
        rows.setdefault(str(rec.get("sid") or rec.get("url")), (title, body))
    ids = list(rows)
    return _labelled(ids, [rows[i][0] for i in ids], [rows[i][1] for i in ids], str(path))


def name_share_csv(path: Path) -> float:
    cols = pd.read_csv(path, nrows=0).columns
    return 0.0 if "name" not in cols else float(pd.read_csv(path)["name"].notna().mean())


def name_share_world(world: Path) -> float:
    n = named = 0
    with (world / "ads.jsonl").open(encoding="utf-8") as f:
        for line in f:
            n += 1
            named += bool(json.loads(line).get("name"))
    return named / max(n, 1)


# ---- measures ----


def tfidf_tpr(ads: LabelledAds, masked: list[str], seed: int) -> tuple[float, float]:
    """Baseline TPR at FPR 1% (all test pairs, and without near-duplicate pairs), with the
    split and pair sampling of ``train_and_evaluate`` (test 30% of components)."""
    groups = ads.groups("identifiers")
    train, test = split_groups(groups, 0.3, seed)
    tr = label_pairs(groups, train, random_state=seed)
    te = label_pairs(groups, test, min_neg=20_000, random_state=seed + 1)
    train_used = np.unique(np.r_[tr["a"], tr["b"]])
    a, b, y = te["a"].to_numpy(), te["b"].to_numpy(), te["y"].to_numpy()
    score = baseline_scores([masked[i] for i in train_used], masked, a, b)
    dup = near_duplicates(masked, a, b, NEAR_DUP)
    return tpr_at_fpr(y, score, 0.01)[0], tpr_at_fpr(y[~dup], score[~dup], 0.01)[0]


def near_dup_share(masked: list[str], threshold: float = NEAR_DUP) -> float:
    """Share of ads with a near copy among the others (shingle Jaccard, exact all pairs)."""
    x = _shingle_sets(masked, 5)
    size = np.diff(x.indptr).astype(np.float32)
    xt = x.T.tocsc()
    hit = np.zeros(len(masked), dtype=bool)
    for s in range(0, x.shape[0], 500):
        inter = (x[s : s + 500] @ xt).toarray()
        union = size[s : s + 500, None] + size[None, :] - inter
        jac = inter / np.maximum(union, 1)
        rows = np.arange(s, min(s + 500, x.shape[0]))
        jac[rows - s, rows] = 0.0
        hit[rows] = (jac >= threshold).any(axis=1)
    return float(hit.mean())


def phone_stats(ads: LabelledAds) -> dict[str, float]:
    per_phone: dict[str, int] = {}
    for keys in ads.identifiers:
        for k in keys:
            if k.startswith("phone:"):
                per_phone[k] = per_phone.get(k, 0) + 1
    c = np.array(list(per_phone.values()) or [0])
    return {
        "ads with phone/e-mail": float(np.mean([bool(k) for k in ads.identifiers])),
        "phones": float(len(per_phone)),
        "phones in 1 ad": float((c == 1).mean()),
        "phones in 2-5": float(((c >= 2) & (c <= 5)).mean()),
        "phones in 6-20": float(((c >= 6) & (c <= 20)).mean()),
        "phones in >20": float((c > 20).mean()),
        "ads per phone, mean": float(c.mean()),
        "largest phone (ads)": float(c.max()),
    }


def candidate_same_component(ads: LabelledAds, seed: int) -> dict[str, float]:
    """Share of the model's accepted candidate pairs in one identifier component, at the
    thresholds that find 30 % / 50 % of the same-component candidate pairs, and at best
    (>= 30 accepted pairs)."""
    _, ev = train_and_evaluate(ads, random_state=seed, baseline=False)
    c = ev.info["candidate_precision"]["curve"]
    acc, same = np.asarray(c["accepted"]), np.asarray(c["same"])
    out = {}
    for recall in (0.3, 0.5):
        i = int(np.where(same >= recall * c["positives"])[0].max())
        out[f"candidates in one component @ {recall:.0%}"] = float(same[i] / max(acc[i], 1))
    ok = acc >= 30
    out["candidates in one component, best"] = float((same[ok] / acc[ok]).max())
    return out


def measure(
    ads: LabelledAds, name_share: float, split_seeds: list[int], model: bool = False
) -> dict[str, list]:
    """Every measure of one set of ads; the TF-IDF one (and the model's) once per split
    seed."""
    masked = [prepare_text(t) for t in ads.texts]
    lengths = np.array([len(" ".join(t.split())) for t in ads.texts])
    out: dict[str, list] = {"ads": [float(len(ads))]}
    groups = ads.groups("identifiers")
    sizes = np.bincount(groups[groups >= 0])
    out["identifier components >= 2 ads"] = [float((sizes >= 2).sum())]
    tprs = [tfidf_tpr(ads, masked, s) for s in split_seeds]
    out["TF-IDF TPR @ FPR 1%"] = [t[0] for t in tprs]
    out["  same, no near-dup pairs"] = [t[1] for t in tprs]
    out["near-duplicate share"] = [near_dup_share(masked)]
    for k, v in phone_stats(ads).items():
        out[k] = [v]
    out["length p25"] = [float(np.percentile(lengths, 25))]
    out["length median"] = [float(np.median(lengths))]
    out["length p75"] = [float(np.percentile(lengths, 75))]
    out["structured name share"] = [name_share]
    if model:
        runs = [candidate_same_component(ads, s) for s in split_seeds]
        for k in runs[0]:
            out[k] = [r[k] for r in runs]
    return out


def merge(runs: list[dict[str, list]]) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in runs:
        for k, v in r.items():
            out.setdefault(k, []).extend(v)
    return out


def fmt(vals: list[float]) -> str:
    v = np.asarray(vals, dtype=float)
    if len(v) == 1 or np.allclose(v, v[0]):
        return f"{v.mean():.3f}" if abs(v.mean()) < 10 else f"{v.mean():.0f}"
    if abs(v.mean()) < 10:
        return f"{v.mean():.3f} ± {v.std(ddof=1):.3f}"
    return f"{v.mean():.0f} ± {v.std(ddof=1):.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ads", type=int, default=8000, help="synthetic world size")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--config", type=Path, default=None, help="world config JSON")
    ap.add_argument("--real", nargs="*", default=["ca", "socal", "wa"])
    ap.add_argument(
        "--model", action="store_true", help="also train the model: look-alikes across components"
    )
    args = ap.parse_args()
    cfg = WorldConfig.from_json(args.config) if args.config else WorldConfig()

    readers: dict[str, tuple[str, Callable[[Path], LabelledAds], Callable[[Path], float]]] = {
        "ca": (CA, read_ads, name_share_csv),
        "socal": (SOCAL, read_socal, lambda p: 0.0),  # DIG JSON-LD has no name field
        "wa": (WA, read_wa, lambda p: 0.0),  # neither have the DIG posts
    }
    cols: dict[str, dict[str, list]] = {}
    for key in args.real:
        fname, read, names = readers[key]
        path = args.data / fname
        if not path.exists():
            print(f"skipped real set {key}: {path} not found")
            continue
        t0 = time.perf_counter()
        ads = read(path)
        cols[f"real {key}"] = measure(ads, names(path), args.seeds, args.model)
        print(f"real {key}: {len(ads)} ads measured in {time.perf_counter() - t0:.0f}s", flush=True)

    runs = []
    for seed in args.seeds:
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            world = Path(tmp)
            generate_world(world, args.ads, seed=seed, config=cfg)
            runs.append(measure(read_ads(world), name_share_world(world), [seed], args.model))
        print(f"synthetic seed {seed}: measured in {time.perf_counter() - t0:.0f}s", flush=True)
    cols[f"synthetic ({args.ads} ads)"] = merge(runs)

    names = list(next(iter(cols.values())))
    width = max(len(n) for n in names) + 2
    print(f"\nmean ± sd over seeds {args.seeds} (real sets: split seeds; synthetic: world seeds)")
    print(f"{'measure':{width}s}" + "".join(f"{c:>22s}" for c in cols))
    for n in names:
        print(f"{n:{width}s}" + "".join(f"{fmt(cols[c][n]):>22s}" for c in cols))
    syn = cols[f"synthetic ({args.ads} ads)"]["TF-IDF TPR @ FPR 1%"]
    for c in cols:
        if c.startswith("real"):
            gap = np.mean(syn) - np.mean(cols[c]["TF-IDF TPR @ FPR 1%"])
            print(f"TF-IDF TPR gap synthetic - {c}: {gap:+.3f} (target within ±0.03 of real ca)")


if __name__ == "__main__":
    main()
