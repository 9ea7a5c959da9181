"""Owner groups and Author clusters on real ads, against their identifier components.

Loads each real set of ``../shared/data/ads/`` with ``ownergraph load ads`` into a fresh
embedded store (the CA scrape, and the Southern California / Las Vegas set as a check
that nothing was tuned to one scrape), then runs the re-attachment protocol of
``ownergraph evaluate --labels identifiers`` (:mod:`ownergraph.evaluate_identifiers`)
over several seeds and prints, in one table per set, the default owner groups and
Author clusters beside hard identifiers alone (the components baseline) and every ad
alone: mean ± sd over seeds, with the issue's targets marked.

    python benchmarks/bench_real_owners.py                       # both sets, seeds 0-4
    python benchmarks/bench_real_owners.py --sets ca --targets 0.95,0.9,0.8
    python benchmarks/bench_real_owners.py --author-model age    # text + stated age
    python benchmarks/bench_real_owners.py --author-model fair   # + location, same-market
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_ads  # noqa: E402

from ownergraph.defaults import TARGET_PRECISION  # noqa: E402
from ownergraph.evaluate_identifiers import read_store, run_seed  # noqa: E402
from ownergraph.store.embedded import EmbeddedStore  # noqa: E402

ROWS = [
    ("B-cubed precision", "precision"),
    ("B-cubed recall", "recall"),
    ("B-cubed F1", "f1"),
    ("B-cubed precision, all ads", "precision_all_ads"),
    ("groups joining components", "merged_groups"),
    ("ads in them", "ads_in_merged"),
    ("largest", "largest_merged"),
    ("re-attachment precision, pooled (landed/attached)", "reattach_precision"),
    ("re-attachment recall", "reattach_recall"),
    ("hidden ads left alone", "reattach_alone"),
]
COLS = ("owners", "authors", "components", "alone")
# author model options (issue 17 item 6; bench_model_real.py measures them on pairs)
AUTHOR_MODELS: dict[str, dict | None] = {
    "default": None,
    "age": {"fields": ("age",)},
    "fair": {"fields": ("age", "location"), "location_rarity": True, "market_negatives": 0.95},
}


def add_location_and_market(name: str, data) -> None:
    """The location string and market of each ad (as ``bench_model_real`` reads them),
    as columns of ``data.ads`` by ad id: the store has no such Ad fields."""
    from bench_model_real import load_sets  # noqa: PLC0415

    raw = load_sets([name])[name]
    for k in ("location", "market"):
        value = dict(zip(raw.ids, raw.fields[k], strict=True))
        data.ads[k] = [value.get(i) for i in data.ads["id"]]
        print(f"{name}: {k} known for {data.ads[k].notna().sum():,} of {len(data.ads):,} ads")


def load(name: str, work: Path) -> Path:
    store = work / f"{name}.lbug"
    args = real_ads.load_args(name, work)
    res = subprocess.run(
        ["ownergraph", "load", "ads", *args, "--store", str(store)],
        capture_output=True,
        text=True,
        cwd=work,
    )
    if res.returncode != 0:
        sys.exit(f"loading {name} failed:\n{res.stdout[-2000:]}{res.stderr[-2000:]}")
    return store


def cell(runs: list[dict], grouping: str, key: str) -> str:
    if key == "reattach_precision":  # pooled over seeds: landed / attached, with the count
        att = sum(r[grouping].get("reattach_n_attached") or 0 for r in runs)
        land = sum(r[grouping].get("reattach_n_landed") or 0 for r in runs)
        return f"{land / att:.3f} ({land}/{att})" if att else "n/a (none attached)"
    vals = [r[grouping].get(key) for r in runs]
    vals = [float(v) for v in vals if v is not None]
    if not vals:
        return "n/a"
    if len(vals) == 1:
        return f"{vals[0]:.3f}"
    return f"{np.mean(vals):.3f} ± {np.std(vals, ddof=1):.3f}"


def report(name: str, n_ads: int, target: float, runs: list[dict], seconds: float) -> None:
    r0 = runs[0]
    print(
        f"\n## {name}: {n_ads:,} ads, {r0['labelled']:,} with an identifier, "
        f"{r0['hidden']:,} hidden per seed; author target precision {target:g}; "
        f"{len(runs)} seeds; {seconds:.0f} s"
    )
    print(f"| measure | {' | '.join(COLS)} |")
    print("|---|" + "---|" * len(COLS))
    for title, key in ROWS:
        print(f"| {title} | " + " | ".join(cell(runs, g, key) for g in COLS) + " |")
    pts = [r["author_operating_point"] for r in runs]
    reach = [p for p in pts if p["threshold"] is not None]
    thr = ", ".join(f"{p['threshold']:.4f}" for p in reach)
    prec = ", ".join(f"{p['precision']:.3f}" for p in reach)
    best = ", ".join("n/a" if p["best_precision"] is None else f"{p['best_precision']:.3f}"
                     for p in pts)  # fmt: skip
    print(
        f"author operating point reached in {len(reach)}/{len(pts)} seeds"
        + (f"; thresholds {thr}; measured candidate-pair precision {prec}" if reach else "")
        + f"; best any threshold reached: {best}"
    )
    sets = {}
    for r in runs:
        sets[r["owner_setting"]] = sets.get(r["owner_setting"], 0) + 1
    print("owner detection chose: " + ", ".join(f"{k} ({v})" for k, v in sets.items()))
    offs = {r.get("owner_joins", {}).get("off") for r in runs} - {None}
    if offs:
        print("joins: " + "; ".join(sorted(offs)))
    marked = sorted({m for r in runs for m in r.get("generic_marked", [])})
    print(f"generic identifiers marked (any seed): {len(marked)} {', '.join(marked[:10])}")
    soft = [r["soft_precision"].get("author") for r in runs if r["soft_precision"]]
    if any(v is not None for v in soft):
        print(
            "measured author re-attachment precision (inner calibration): "
            + ", ".join("n/a" if v is None else f"{v:.3f}" for v in soft)
        )
    f1 = [r["owners"]["f1"] - r["components"]["f1"] for r in runs]
    pr = [r["owners"]["precision"] - r["components"]["precision"] for r in runs]
    print(
        f"targets: owners F1 - components F1 = {np.mean(f1):+.4f} (>= 0), owners precision "
        f"- components precision = {np.mean(pr):+.4f} (>= -0.005); re-attachment precision "
        f">= 0.95; Author precision >= 0.90 and Author F1 above every-ad-alone"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="ca,socal", help="ca, socal, wa (comma-separated)")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--targets", default=str(TARGET_PRECISION), help="author target precisions")
    ap.add_argument("--hide", type=float, default=0.2)
    ap.add_argument("--joins", default=None, help="owner calibration's join rule (slack, cut)")
    ap.add_argument(
        "--generic",
        choices=("default", "off", "split", "cut"),
        default="default",
        help="generic identifiers in owner detection: the default, off, or on with a treatment",
    )
    ap.add_argument(
        "--author-model",
        choices=sorted(AUTHOR_MODELS),
        default="default",
        help="the author model: default (text), age (+ stated age), fair (+ stated age, "
        "rarity-weighted location, 95 %% same-market training negatives; location and "
        "market read from the raw files by ad id: the store holds neither)",
    )
    args = ap.parse_args()
    if not real_ads.available():
        sys.exit(f"real data not found in {real_ads.DATA}")
    seeds = [int(s) for s in args.seeds.split(",")]
    opts: dict = {}
    if args.generic != "default":
        opts = {"generic": args.generic != "off"}
        opts |= {"generic_treatment": args.generic} if args.generic != "off" else {}
    targets = tuple(float(t) for t in args.targets.split(","))
    author_model = AUTHOR_MODELS[args.author_model]
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets.split(","):
            store = EmbeddedStore(load(name, Path(tmp)))
            data = read_store(store)
            store.close()
            if args.author_model == "fair":
                add_location_and_market(name, data)
            per_target: dict[float, list[dict]] = {t: [] for t in targets}
            t0 = time.perf_counter()
            for seed in seeds:
                for run in run_seed(
                    data,
                    seed,
                    share=args.hide,
                    targets=targets,
                    join_rule=args.joins,
                    owner_options=opts,
                    author_model=author_model,
                ):
                    per_target[run["target_precision"]].append(run)
            secs = time.perf_counter() - t0
            for t in targets:
                report(name, len(data.ads), t, per_target[t], secs)


if __name__ == "__main__":
    main()
