"""Benchmark: pairwise author-model configurations on the real Backpage ad sets.

    python benchmarks/bench_model_real.py [--side dev|test] [--seeds 6] [--configs a,b]

Identifier components (shared phone / e-mail) label the ads of the real CA scrape and
of the Southern California / Las Vegas DIG set. Each configuration is trained and
scored with the honest protocol (``train_and_evaluate``: split by component, fit on one
side, score the other) over several component splits, paired: every configuration sees
the same splits. Two sides:

- ``dev``: the components of the standard held-out test side (split seed 0) are removed
  first; configurations are compared on splits *inside* the training components
  (seeds 1..N). Choosing a configuration never looks at the held-out test side.
- ``test``: the standard splits of all ads (seeds 0..N-1), for committed configurations.

Per run: TPR at FPR 1 % and 0.1 % (random negative pairs; all, and without template
near-duplicates); the same positives against negatives drawn inside ONE market (two
held-out ads of one city and two components, ~20,000; ``real_ads.markets``: CA the
url's city subdomain, SoCal/LV DIG's market code), since random negative pairs are
mostly two cities and reward a model for telling cities apart: TPR at FPR 1 % on those
(``tpr1_city``), and at the model's own FPR-1 % threshold (from random negatives) the
share of same-market negatives accepted (``far_city``: false links within a city) and
of positive pairs spanning two markets accepted (``tpr_xcity``); and the
precision-recall of *candidate pairs* (each ad's nearest stylistic neighbours, scored
where one end is held out): recall at precision 0.8 and 0.9 and the best precision
reached (``operating_point``). Printed per set: mean ± sd over splits, and each
configuration's paired difference to the first one (mean ± sd, splits better; for
``far_city`` better is lower). Identifier labels make these lower bounds (one writer, two phones).

Configurations ``age``, ``loc``, ``date``, ``age+loc``, ``fields`` (and ``neg30+...``)
add pair features of the ads' own fields (``PairwiseAuthorModel(fields=...)``): stated
age, location string (CA ``location``; SoCal DIG ``dig:mentionsPlace``), creation date.
``...+rloc`` adds the location's rarity weights (``location_rarity=True``), ``mktNN`` draws
NN % of the training negatives inside one market (``market_negatives=0.NN``).

Features that do not depend on the split (masking, n-gram counts, style rates, sentence
embeddings) are computed once per text and reused across splits and configurations.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_ads  # noqa: E402

from ownergraph.linking.stylometry import embeddings, features  # noqa: E402
from ownergraph.linking.stylometry import evaluate as evaluate_mod  # noqa: E402
from ownergraph.linking.stylometry import model as model_mod  # noqa: E402
from ownergraph.linking.stylometry.data import LabelledAds, read_ads  # noqa: E402
from ownergraph.linking.stylometry.evaluate import (  # noqa: E402
    market_codes,
    tpr_at_fpr,
    train_and_evaluate,
)
from ownergraph.linking.stylometry.features import StyleVectorizer  # noqa: E402
from ownergraph.linking.stylometry.masking import prepare_text  # noqa: E402
from ownergraph.linking.stylometry.model import PairwiseAuthorModel  # noqa: E402
from ownergraph.linking.stylometry.operating_point import operating_point  # noqa: E402
from ownergraph.linking.stylometry.pairs import market_negatives, split_groups  # noqa: E402

CONFIGS: dict[str, Callable[[], StyleVectorizer]] = {
    "current": lambda: StyleVectorizer(),
    "lr_grammar": lambda: StyleVectorizer(likelihood=("grammar",)),
    "lr_char": lambda: StyleVectorizer(likelihood=("char",)),
    "lr_word": lambda: StyleVectorizer(likelihood=("word",)),
    "lr_all": lambda: StyleVectorizer(likelihood=("grammar", "char", "word")),
    "embed": lambda: StyleVectorizer(embedding="minilm"),
    "embed+lr_grammar": lambda: StyleVectorizer(likelihood=("grammar",), embedding="minilm"),
    "hard": lambda: StyleVectorizer(),
    "hard+lr_grammar": lambda: StyleVectorizer(likelihood=("grammar",)),
    "hard+embed": lambda: StyleVectorizer(embedding="minilm"),
}
# issue 17 item 6: more pair features, training pairs and classifier settings
_EXTRA = {
    "skeleton": {"views": features.SPARSE_VIEWS + ("skeleton",)},
    "phrase": {"views": features.SPARSE_VIEWS + ("phrase",)},
    "grammar_view": {"views": features.SPARSE_VIEWS + ("grammar",)},
    "style_prod": {"style_product": True},
    "folded": {"views": features.SPARSE_VIEWS + ("folded",)},
    "word13": {"word_ngram": (1, 3)},
    "char_all": {"max_terms": None},
    "rich": {
        "views": features.SPARSE_VIEWS + ("skeleton", "phrase"),
        "style_product": True,
    },
}
for _name, _kw in _EXTRA.items():
    CONFIGS[_name] = functools.partial(StyleVectorizer, **_kw)
for _name in ("neg30", "neg60", "pos300", "hgb300", "hard_w0.1", "rich+neg30", "neg30+hgb300"):
    CONFIGS[_name] = CONFIGS.get(_name.split("+")[0] if "+" in _name else "current")
CONFIGS["hard_w0.1"] = CONFIGS["current"]
# training options of ``train_and_evaluate`` per configuration (default: none)
CONFIGS["hard_w0.3"] = CONFIGS["hard"]
TRAIN_OPTIONS: dict[str, dict] = {c: {"hard_pairs": True} for c in CONFIGS if "hard" in c}
TRAIN_OPTIONS["hard_w0.3"]["hard_weight"] = 0.3
TRAIN_OPTIONS["hard_w0.1"]["hard_weight"] = 0.1
TRAIN_OPTIONS["neg30"] = TRAIN_OPTIONS["rich+neg30"] = {"train_neg_per_pos": 30.0}
TRAIN_OPTIONS["neg30+hgb300"] = {"train_neg_per_pos": 30.0}
TRAIN_OPTIONS["neg60"] = {"train_neg_per_pos": 60.0}
TRAIN_OPTIONS["pos300"] = {"train_max_pos_per_group": 300}
# options of ``PairwiseAuthorModel`` per configuration (default: none)
MODEL_OPTIONS: dict[str, dict] = {
    c: {"max_iter": 300, "learning_rate": 0.05} for c in ("hgb300", "neg30+hgb300")
}
# issue 17 item 6: pair features from the ads' own fields (stated age, location string,
# creation date), alone and with 30 training negatives per positive
_FIELDS = {"age": ("age",), "loc": ("location",), "date": ("date",),
           "age+loc": ("age", "location"), "fields": ("age", "location", "date")}  # fmt: skip
for _name, _f in _FIELDS.items():
    for _pre in ("", "neg30+"):
        CONFIGS[_pre + _name] = CONFIGS["current"]
        MODEL_OPTIONS[_pre + _name] = {"fields": _f}
        if _pre:
            TRAIN_OPTIONS[_pre + _name] = {"train_neg_per_pos": 30.0}
# issue 17 item 6, the fair variant: rarity-weighted location and same-market negatives
for _share in (25, 50, 80, 90, 95, 100):
    _m = {"market_negatives": _share / 100}
    CONFIGS[f"mkt{_share}"] = CONFIGS["current"]
    MODEL_OPTIONS[f"mkt{_share}"] = _m
    for _name, _opts in (
        ("age", {"fields": ("age",)}),
        ("age+loc", {"fields": ("age", "location")}),
        ("age+rloc", {"fields": ("age", "location"), "location_rarity": True}),
    ):
        CONFIGS[f"{_name}+mkt{_share}"] = CONFIGS["current"]
        MODEL_OPTIONS[f"{_name}+mkt{_share}"] = {**_opts, **_m}
CONFIGS["age+rloc"] = CONFIGS["current"]
MODEL_OPTIONS["age+rloc"] = {"fields": ("age", "location"), "location_rarity": True}
METRICS = ("tpr1", "tpr01", "tpr1_nnd", "tpr1_city", "far_city", "tpr_xcity",
           "r_at_p80", "best_p", "cand_ap", "cand_r80")  # fmt: skip
CITY_NEGATIVES = 20_000
LOWER_BETTER = {"far_city"}  # "splits better" counts the splits where it is lower
MIN_ACCEPTED = 30


# ---- split-independent features, computed once per text --------------------------------
@functools.cache
def _masked(text: str) -> str:
    return prepare_text(text)


_COUNTS: dict[tuple, tuple[dict[str, int], list[sp.csr_matrix]]] = {}
_STYLE: dict[str, np.ndarray] = {}
_EMBED: dict[str, np.ndarray] = {}
_orig_counts = StyleVectorizer._counts
_orig_style = features.style_matrix
_orig_encode = embeddings.encode


def _rows_cached(key: tuple, texts: list[str], compute) -> list[int]:
    index, mats = _COUNTS.setdefault(key, ({}, []))
    missing = list(dict.fromkeys(t for t in texts if t not in index))
    if missing:
        mats.append(compute(missing))
        base = len(index)
        index.update({t: base + i for i, t in enumerate(missing)})
        if len(mats) > 1:
            mats[:] = [sp.vstack(mats).tocsr()]
    return [index[t] for t in texts]


def _cached_counts(self: StyleVectorizer, texts: list[str]) -> dict[str, sp.csr_matrix]:
    out = {}
    for v, h in self._hashers().items():
        key = (v, self.char_ngram, self.word_ngram, self.n_features, self.phrase_ngram)
        rows = _rows_cached(key, texts, lambda ts, h=h: h.transform(ts).tocsr())
        out[v] = _COUNTS[key][1][0][rows]
    return out


def _cached_style(texts: list[str]) -> np.ndarray:
    missing = [t for t in dict.fromkeys(texts) if t not in _STYLE]
    if missing:
        _STYLE.update(zip(missing, _orig_style(missing), strict=True))
    return np.vstack([_STYLE[t] for t in texts]) if texts else _orig_style([])


def _cached_encode(texts: list[str], name: str = "minilm", **kw) -> np.ndarray:
    missing = [t for t in dict.fromkeys(texts) if t not in _EMBED]
    if missing:
        t0 = time.perf_counter()
        _EMBED.update(zip(missing, _orig_encode(missing, name, **kw), strict=True))
        dt = time.perf_counter() - t0
        print(
            f"  (embedded {len(missing):,} texts in {dt:.1f}s: {dt / len(missing) * 1000:.1f}s "
            f"per 1k ads; load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    return np.vstack([_EMBED[t] for t in texts])


_LAST_CANDIDATES: dict[str, np.ndarray] = {}
_orig_curve = evaluate_mod.precision_curve
_LAST_EVAL: dict[str, object] = {}
_orig_evaluate_pairs = evaluate_mod.evaluate_pairs


def _keep_eval(model, ads, pairs, **kw):
    """``evaluate_pairs`` that also keeps the features and held-out pairs it scored."""
    _LAST_EVAL.update(feats=kw.get("feats"), pairs=pairs)
    return _orig_evaluate_pairs(model, ads, pairs, **kw)


def _keep_candidates(p: np.ndarray, same: np.ndarray) -> dict:
    """``precision_curve`` that also keeps the raw candidate scores for exact figures."""
    _LAST_CANDIDATES.update(p=np.asarray(p), same=np.asarray(same, dtype=bool))
    return _orig_curve(p, same)


def exact_candidate_figures(p: np.ndarray, same: np.ndarray) -> dict[str, float]:
    """Average precision of the candidate pairs and the recall at precision 0.8, from the
    raw scores (no threshold grid; tied scores accepted together)."""
    if not same.any():
        return {"cand_ap": 0.0, "cand_r80": 0.0}
    order = np.argsort(-p, kind="stable")
    ps, hit = p[order], same[order]
    last = np.r_[ps[1:] != ps[:-1], True]  # last pair of each run of tied scores
    acc = np.arange(1, len(ps) + 1)[last]
    tp = np.cumsum(hit)[last]
    prec, rec = tp / acc, tp / same.sum()
    ok = (acc >= MIN_ACCEPTED) & (prec >= 0.8)
    return {
        "cand_ap": float(average_precision_score(same, p)),
        "cand_r80": float(rec[ok].max()) if ok.any() else 0.0,
    }


def uninstall_caches() -> None:
    model_mod.prepare_text = prepare_text
    StyleVectorizer._counts = _orig_counts
    features.style_matrix = _orig_style
    embeddings.encode = _orig_encode
    evaluate_mod.precision_curve = _orig_curve
    evaluate_mod.evaluate_pairs = _orig_evaluate_pairs


def install_caches() -> None:
    model_mod.prepare_text = _masked
    StyleVectorizer._counts = _cached_counts
    features.style_matrix = _cached_style
    embeddings.encode = _cached_encode
    evaluate_mod.precision_curve = _keep_candidates
    evaluate_mod.evaluate_pairs = _keep_eval


# ---- data ---------------------------------------------------------------------------------
def load_sets(names: list[str]) -> dict[str, LabelledAds]:
    out = {}
    tmp = Path(tempfile.mkdtemp(prefix="bench_model_real_"))
    for n in names:
        if n == "ca":
            out[n] = read_ads(real_ads.CA_CSV)
        else:
            out[n] = read_ads(_with_text(real_ads.flat_jsonl(n, tmp)))
        market = real_ads.markets(n)
        out[n].fields = (out[n].fields or {}) | {"market": [market.get(i) for i in out[n].ids]}
        known = sum(v is not None for v in out[n].fields["market"])
        print(f"{n}: {len(out[n]):,} ads, market known for {known:,}", flush=True)
    return out


def _with_text(path: Path) -> Path:
    """The records of a flat JSON Lines set that have a title or a body (``load ads``
    quarantines the others; ``read_ads`` refuses them): 2 of the 2,188 SoCal ads."""
    keep = [
        line
        for line in path.read_text().splitlines()
        if any(str(json.loads(line).get(k) or "").strip() for k in ("title", "body"))
    ]
    out = path.with_name(path.stem + "_text.jsonl")
    out.write_text("\n".join(keep) + "\n")
    return out


def dev_ads(ads: LabelledAds, test_size: float = 0.3) -> LabelledAds:
    """The ads outside the standard held-out test components (split seed 0)."""
    _, test = split_groups(ads.groups(), test_size, 0)
    dev = ads.take(np.flatnonzero(~test))
    dev.source = ads.source + "#dev"
    return dev


def run_one(ads: LabelledAds, config: str, seed: int) -> dict[str, float]:
    model = PairwiseAuthorModel(
        vectorizer=CONFIGS[config](), random_state=seed, **MODEL_OPTIONS.get(config, {})
    )
    _, ev = train_and_evaluate(
        ads, model=model, random_state=seed, baseline=False, **TRAIN_OPTIONS.get(config, {})
    )
    f, nnd = ev.figures["model/all"], ev.figures["model/no_near_dup"]
    city = city_figures(ads, model, ev, seed)
    curve = ev.info["candidate_precision"]["curve"]
    p80 = operating_point(curve, 0.8)
    return {
        "tpr1": f["tpr_at_fpr_0.01"],
        "tpr01": f["tpr_at_fpr_0.001"],
        "tpr1_nnd": nnd["tpr_at_fpr_0.01"],
        **city,
        "r_at_p80": p80.recall or 0.0,
        "best_p": p80.best_precision or 0.0,
        **exact_candidate_figures(_LAST_CANDIDATES["p"], _LAST_CANDIDATES["same"]),
    }


def city_figures(ads: LabelledAds, model, ev, seed: int) -> dict[str, float]:
    """The held-out positives against ~``CITY_NEGATIVES`` negatives inside one market
    (an ad of the held-out side, uniformly, and one of its market from another
    component: each market in proportion to its held-out ads; the same pairs for every
    configuration of a split): TPR at FPR 1 %, and at the model's FPR-1 % threshold from
    random negatives the share of those negatives accepted and of the positive pairs
    spanning two markets accepted."""
    groups = ads.groups()
    market = market_codes(ads)
    _, test = split_groups(groups, 0.3, seed)
    idx = np.flatnonzero(test)
    na, nb = market_negatives(
        groups, market, idx, idx, CITY_NEGATIVES, np.random.default_rng(seed + 7)
    )
    pairs, feats = _LAST_EVAL["pairs"], _LAST_EVAL["feats"]
    if len(feats) != len(ads):
        raise RuntimeError("the benchmark expects every ad featurised (FEATURISE_ALL_BELOW)")
    y, p = ev.info["scores"]["y"], ev.info["scores"]["model"]
    pa, pb = pairs["a"].to_numpy()[y == 1], pairs["b"].to_numpy()[y == 1]
    pn = model.predict_proba_indexed(feats, na, nb)
    pp = p[y == 1]
    thr = ev.figures["model/all"]["threshold_at_fpr_0.01"]
    cross = market[pa] != market[pb]
    return {
        "tpr1_city": tpr_at_fpr(np.r_[np.ones(len(pp)), np.zeros(len(pn))], np.r_[pp, pn], 0.01)[0],
        "far_city": float((pn >= thr).mean()),
        "tpr_xcity": float((pp[cross] >= thr).mean()) if cross.any() else float("nan"),
        "n_city_neg": int(len(pn)),
        "n_xcity_pos": int(cross.sum()),
    }


def feature_bytes(f) -> int:
    """Bytes the per-ad features of ``f`` hold (sparse views, LR views, dense, style)."""
    n = f.style.nbytes + sum(x.nbytes for x in f.dense.values())
    mats = list(f.views.values()) + [m for w, k, _ in f.lr.values() for m in (w, k)]
    n += sum(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes for m in mats)
    return n + sum(x.nbytes for _, _, x in f.lr.values())


def cost(ads: LabelledAds, configs: list[str], n: int, n_pairs: int = 50_000) -> None:
    """Featurising time per 1k ads, feature memory per ad and pair-scoring rate of each
    configuration, uncached, on the first ``n`` ads (2 cores shared: load printed)."""
    uninstall_caches()
    texts = [prepare_text(t) for t in ads.texts[:n]]
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, n, n_pairs), rng.integers(0, n, n_pairs)
    y = (rng.random(2000) < 0.2).astype(int)
    print(f"\n== cost on {n:,} CA ads (uncached; load {os.getloadavg()[0]:.1f}) ==")
    base = None
    for c in configs:
        m = PairwiseAuthorModel(vectorizer=CONFIGS[c](), max_iter=20)
        m.fit_transform_texts(texts[:200], np.arange(200), prepared=True)
        t0 = time.perf_counter()
        f = m.transform_texts(texts, prepared=True)
        t_feat = (time.perf_counter() - t0) / n * 1000
        m.fit_features(f, a[:2000], b[:2000], y)
        t0 = time.perf_counter()
        m.predict_proba_indexed(f, a, b)
        rate = n_pairs / (time.perf_counter() - t0)
        base = base or (t_feat, rate)
        print(
            f"{c:<20} featurise {t_feat:6.2f} s per 1k ads ({t_feat / base[0]:.2f}x), "
            f"{feature_bytes(f) / n / 1024:6.1f} KiB per ad, scoring {rate:9,.0f} pairs/s "
            f"({rate / base[1]:.2f}x)",
            flush=True,
        )


def summarise(rows: list[dict], configs: list[str]) -> None:
    for set_name in dict.fromkeys(r["set"] for r in rows):
        sel = [r for r in rows if r["set"] == set_name]
        seeds = sorted({r["seed"] for r in sel})
        print(f"\n== {set_name} ({sel[0]['side']} side, splits {seeds}) ==")
        print(f"{'config':<20}" + "".join(f"{m:>17}" for m in METRICS))
        by = {(r["config"], r["seed"]): r for r in sel}
        ref = configs[0]
        for c in configs:
            have = [s for s in seeds if (c, s) in by]
            if not have:
                continue
            line = f"{c:<20}"
            for m in METRICS:
                v = np.array([by[c, s][m] for s in have])
                line += f"{v.mean():>10.3f} ±{v.std(ddof=1) if len(v) > 1 else 0:.3f}"
            print(line)
            if c == ref:
                continue
            both = [s for s in have if (ref, s) in by]
            line = f"{'  Δ vs ' + ref:<20}"
            for m in METRICS:
                d = np.array([by[c, s][m] - by[ref, s][m] for s in both])
                wins = int((d < 0).sum() if m in LOWER_BETTER else (d > 0).sum())
                sd = d.std(ddof=1) if len(d) > 1 else 0
                line += f"{d.mean():>+8.3f}±{sd:.3f} {wins}/{len(d)}"
            print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--side", choices=("dev", "test"), default="dev")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--sets", default="ca,socal")
    ap.add_argument("--configs", default="current,lr_grammar,embed")
    ap.add_argument(
        "--embed-cache",
        type=Path,
        nargs="*",
        default=[],
        help="npz files (texts, emb) of precomputed sentence embeddings of masked texts",
    )
    ap.add_argument("--cost", type=int, default=0, help="also time featurising N ads")
    ap.add_argument("--out", type=Path, default=None, help="append JSON rows here (resume)")
    args = ap.parse_args()
    if not real_ads.available():
        sys.exit(f"real ad sets not found under {real_ads.DATA}")
    configs = args.configs.split(",")
    unknown = set(configs) - set(CONFIGS)
    if unknown:
        sys.exit(f"unknown configs {sorted(unknown)}; known: {list(CONFIGS)}")
    install_caches()
    for path in args.embed_cache:
        z = np.load(path, allow_pickle=True)
        _EMBED.update(zip(z["texts"].tolist(), z["emb"], strict=True))
    print(f"load average at start: {os.getloadavg()}", flush=True)
    sets = load_sets(args.sets.split(","))
    seeds = range(1, args.seeds + 1) if args.side == "dev" else range(args.seeds)
    done = []
    if args.out is not None and args.out.exists():
        done = [json.loads(x) for x in args.out.read_text().splitlines() if x.strip()]
    rows = [
        r
        for r in done
        if r["side"] == args.side and r["config"] in configs and set(METRICS) <= set(r)
    ]
    have = {(r["set"], r["config"], r["seed"]) for r in rows}
    for set_name, ads in sets.items():
        data = dev_ads(ads) if args.side == "dev" else ads
        for seed in seeds:
            for c in configs:
                if (set_name, c, seed) in have:
                    continue
                t0 = time.perf_counter()
                r = run_one(data, c, seed)
                r |= {"set": set_name, "side": args.side, "config": c, "seed": seed}
                r["seconds"] = round(time.perf_counter() - t0, 1)
                rows.append(r)
                print(json.dumps(r), flush=True)
                if args.out is not None:
                    with args.out.open("a") as f:
                        f.write(json.dumps(r) + "\n")
    summarise(rows, configs)
    if args.cost:
        cost(sets.get("ca") or next(iter(sets.values())), configs, args.cost)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
