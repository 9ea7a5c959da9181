"""Cut-and-rejoin (ownergraph.cut_rejoin): does the join precision measured with identifier
labels alone agree with the truth's own?

For each data set: how many identifier components can be cut into parts that each keep an
identifier (by one identifier, by a bridge ad). On a synthetic world (a store and its
``world`` truth folder) each setting that joins cores (images, authors) and its attaching
reference run over several draws, each hiding the identifiers of 20 % of the ads in
multi-ad components and the cut of half the cut-able components, as calibration does; per
setting, pooled over the draws:

- label join precision (a part joined to another core: is a part of its own component in
  its group?) and its Wilson lower bound, the strict variant (every join in the groups
  holding a part), and join recall (split components whose parts all ended in one group);
- the truth's join precision: the same per-part count with true owners as labels, over
  the same parts and over every core;
- re-attachment precision against the components and against the truth.

    python benchmarks/bench_join_labels.py --world /tmp/w1 --world /tmp/w2  # graph.lbug, world/
    python benchmarks/bench_join_labels.py --photo-world 101   # the world of bench_images.py
    python benchmarks/bench_join_labels.py --real ca,socal     # counts only
    python benchmarks/bench_join_labels.py --world W --draws 0 --calibrate slack,cut --seed 1
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ownergraph import cut_rejoin as cr  # noqa: E402
from ownergraph import identifier_labels as il  # noqa: E402
from ownergraph.evaluate import load_truth_ads  # noqa: E402
from ownergraph.owners import calibration as cal  # noqa: E402
from ownergraph.owners import communities as cm  # noqa: E402
from ownergraph.stages import evidence as evidence_io  # noqa: E402
from ownergraph.stages.owners import memberships, read_ads  # noqa: E402
from ownergraph.stats import wilson_lower  # noqa: E402
from ownergraph.store.embedded import EmbeddedStore  # noqa: E402

PICK = re.compile(
    r"^(hard identifiers|\+image attaching|\+image joining @.*|\+author attaching \(margin 1\)"
    r"|\+author joining cores .*|hard identifiers \+image (attaching|joining @.*))$"
)


def read(store_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    s = EmbeddedStore(store_path)
    try:
        return read_ads(s), evidence_io.fetch_evidence(s, cm.KINDS)
    finally:
        s.close()


def cut_counts(name: str, ads: pd.DataFrame, ev: pd.DataFrame) -> pd.DataFrame:
    ids = ads["id"].to_numpy(dtype=object)
    t = time.perf_counter()
    cuts = cr.find_cuts(ids, ev)
    comp = il.identifier_components(ids, ev)
    multi = int((np.bincount(comp) >= 2).sum())
    by = cuts.groupby("by")["component"].nunique().to_dict() if len(cuts) else {}
    print(
        f"\n## {name}: {len(ids):,} ads, {multi:,} multi-ad identifier components; "
        f"cut-able components {cuts['component'].nunique() if len(cuts) else 0} "
        f"(by an identifier {by.get('identifier', 0)}, by a bridge ad {by.get('ad', 0)}; "
        f"{len(cuts)} cuts; minimum to measure joins {cal.MIN_CUT_COMPONENTS}); "
        f"{time.perf_counter() - t:.1f} s",
        flush=True,
    )
    return cuts


def settings_for(ev: pd.DataFrame) -> list[cal.Setting]:
    present = tuple(k for k in cm.KINDS if (ev["kind"] == k).any() and k != "wallet")
    s = cal.candidate_settings(present)
    if "image" in present:
        s = cal.image_settings(s)
    return [x for x in s if PICK.match(x.name)]


def validate(name: str, ads: pd.DataFrame, ev: pd.DataFrame, truth: pd.Series, draws: int,
             seed: int) -> None:  # fmt: skip
    ids = ads["id"].to_numpy(dtype=object)
    cuts = cut_counts(name, ads, ev)
    if cuts["component"].nunique() < 2:
        print("too few cut-able components to validate")
        return
    comp = il.identifier_components(ids, ev)
    labelled = il.labelled_ads(ids, ev)
    owner = pd.factorize(truth.reindex(ids).fillna("?").to_numpy(dtype=object))[0]
    attrs = ads.set_index("id")[list(cm.SUPPORT_ATTRIBUTES)]
    settings = settings_for(ev)
    rng = np.random.default_rng(seed)
    sizes = np.bincount(comp)
    eligible = np.flatnonzero(sizes[comp] >= 2)
    n_hide = int(round(il.DEFAULT_HIDE_SHARE * len(eligible)))
    acc: dict[str, dict[str, float]] = {s.name: {} for s in settings}
    t0 = time.perf_counter()
    for _ in range(draws):
        hidden = np.zeros(len(ids), bool)
        hidden[rng.choice(eligible, size=n_hide, replace=False)] = True
        seen = cr.hide_cuts(
            il.without_identifiers(ev, ids[hidden]), cr.draw_cuts(cuts, cal.CUT_SHARE, rng)
        )
        parts = cr.core_parts(comp, ids, seen)
        tparts = cr.core_parts(owner, ids, seen)
        assert (parts["pos"].to_numpy() == tparts["pos"].to_numpy()).all()
        on_parts = tparts.assign(part=parts["part"].to_numpy())
        for s in settings:
            memb, _ = memberships(
                ids, seen, "leiden", s.weights, s.resolution, seed, cm.HARD_KINDS, attrs,
                s.support_power, s.attach_only, s.attach_margin,
            )  # fmt: skip
            pred = pd.factorize(memb)[0]
            got = {
                "l": cr.join_counts(parts, pred),
                "tp": cr.join_counts(on_parts, pred),
                "ta": cr.join_counts(tparts, pred, every_core=True),
            }
            ra_l = il.reattachment(comp, pred, hidden)
            ra_t = il.reattachment(owner, pred, hidden)
            fig = il.grouping_figures(comp, pred, labelled)
            a = acc[s.name]
            for k, c in got.items():
                for f, v in c.items():
                    a[f"{k}_{f}"] = a.get(f"{k}_{f}", 0) + v
            for k, r in (("ral", ra_l), ("rat", ra_t)):
                a[f"{k}_att"] = a.get(f"{k}_att", 0) + r["n_attached"]
                a[f"{k}_land"] = a.get(f"{k}_land", 0) + r["n_landed"]
            a["f1"] = a.get("f1", 0) + fig["f1"] / draws
            a["prec"] = a.get("prec", 0) + fig["precision"] / draws
    rows = []
    for s in settings:
        a = acc[s.name]

        def ratio(k: int | float, n: int | float) -> str:
            return f"{k / n:.3f}" if n else "n/a"

        low = wilson_lower(int(a["l_correct"]), int(a["l_joined"]))
        rows.append(
            {
                "setting": s.name,
                "B3 F1/P vs comps": f"{a['f1']:.3f}/{a['prec']:.3f}",
                "label join P (low)": f"{ratio(a['l_correct'], a['l_joined'])} "
                f"({'n/a' if low is None else f'{low:.3f}'}) "
                f"{int(a['l_correct'])}/{int(a['l_joined'])}",
                "label lenient/strict P": f"{ratio(a['l_lenient'], a['l_joined'])}/"
                f"{ratio(a['l_strict_correct'], a['l_strict_joins'])}",
                "join recall": ratio(a["l_rejoined"], a["l_split"]),
                "truth join P, parts": ratio(a["tp_correct"], a["tp_joined"]),
                "truth join P, all cores": f"{ratio(a['ta_correct'], a['ta_joined'])} "
                f"({int(a['ta_joined'])})",
                "truth strict P": ratio(a["ta_strict_correct"], a["ta_strict_joins"]),
                "reattach P label/truth": f"{ratio(a['ral_land'], a['ral_att'])}/"
                f"{ratio(a['rat_land'], a['rat_att'])} ({int(a['ral_att'])})",
            }
        )
    print(
        f"{draws} draws (seed {seed}), {n_hide} ads hidden + the cut of "
        f"{cal.CUT_SHARE:g} of the cut-able components each; {time.perf_counter() - t0:.0f} s"
    )
    print(pd.DataFrame(rows).to_string(index=False), flush=True)


def calibrated(name: str, ads: pd.DataFrame, ev: pd.DataFrame, truth: pd.Series,
               rules: list[str], seed: int) -> None:  # fmt: skip
    """Owner B-cubed against the truth of the calibrated default under each join rule."""
    from ownergraph.evaluate import cluster_scores
    from ownergraph.stages.owners import find_owners

    print(
        f"\n{name}: owners detect (calibrated, seed {seed}) per join rule (join count "
        f"{cal.JOIN_COUNT}), vs the truth"
    )
    print("| join rule | B3 precision | recall | F1 | setting | joins | seconds |")
    print("|---|---|---|---|---|---|---|")
    for rule in rules:
        t = time.perf_counter()
        found = find_owners(ads, ev, seed=seed, join_rule=rule)
        sc = cluster_scores(truth, found.assigned.set_index("ad")["owner"])
        j = found.calibration.joins if found.calibration else {}
        print(
            f"| {rule} | {sc['bcubed_precision']:.4f} | {sc['bcubed_recall']:.4f} | "
            f"{sc['bcubed_f1']:.4f} | {found.setting.name} | {j} | "
            f"{time.perf_counter() - t:.0f} |",
            flush=True,
        )


def photo_world(seed: int, n_ads: int, draws: int, rules: list[str]) -> None:
    from ownergraph.pipeline import run_pipeline
    from ownergraph.synth.photos import add_photos
    from ownergraph.synth.world import generate_world

    root = Path(tempfile.mkdtemp(prefix="bench-join-"))
    try:
        generate_world(root / "world", n_ads=n_ads, seed=seed)
        add_photos(root / "world", seed=seed)
        with EmbeddedStore(root / "g.lbug") as s:
            run_pipeline(s, root / "world", work_dir=root / "run", seed=seed,
                         stages=("ads", "images"))  # fmt: skip
        ads, ev = read(root / "g.lbug")
        t = load_truth_ads(root / "world").set_index("ad_id")["owner_id"]
        if draws:
            validate(f"photo world seed {seed}", ads, ev, t, draws, seed)
        if rules:
            calibrated(f"photo world seed {seed}", ads, ev, t, rules, seed)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", action="append", default=[], help="a demo output folder")
    ap.add_argument("--photo-world", type=int, action="append", default=[], help="world seed")
    ap.add_argument("--photo-ads", type=int, default=1500)
    ap.add_argument("--real", default="", help="ca, socal, wa (comma-separated)")
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--calibrate", default="", help="join rules to run owners detect with")
    ap.add_argument("--join-count", default=cal.JOIN_COUNT, choices=("lenient", "correct"))
    args = ap.parse_args()
    cal.JOIN_COUNT = args.join_count
    rules = [r for r in args.calibrate.split(",") if r]
    for w in args.world:
        folder = Path(w)
        with tempfile.TemporaryDirectory() as tmp:  # read a copy: never write the original
            shutil.copy(folder / "graph.lbug", Path(tmp) / "g.lbug")
            ads, ev = read(Path(tmp) / "g.lbug")
        t = load_truth_ads(folder / "world").set_index("ad_id")["owner_id"]
        if args.draws:
            validate(str(folder), ads, ev, t, args.draws, args.seed)
        if rules:
            calibrated(str(folder), ads, ev, t, rules, args.seed)
    for s in args.photo_world:
        photo_world(s, args.photo_ads, args.draws, rules)
    if args.real:
        from bench_real_owners import load

        for name in filter(None, args.real.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                ads, ev = read(load(name, Path(tmp)))
            cut_counts(f"real {name}", ads, ev)


if __name__ == "__main__":
    main()
