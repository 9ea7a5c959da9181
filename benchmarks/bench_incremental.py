"""Benchmark: a day's batch added incrementally vs a full re-run, side by side.

    python benchmarks/bench_incremental.py --world DIR [--day 1000] [--author-target-precision P]

DIR is a synthetic world (``ownergraph synth``). Its last ``--day`` ads by posting time
(with the blocks and mempool rows of the same span) are the new day; the rest is what was
already processed. Steps, each in its own process (time and peak memory of that process
and its workers, summed RSS sampled every 0.2 s):

1. ``base``: a full run on the earlier ads into store A (not part of the comparison);
2. ``incremental``: ``run --incremental`` with the new day into store A;
3. ``full``: a full run on all ads into a fresh store B (what a re-run costs).

Then it prints time and peak memory of 2 and 3 side by side with the ratio, and compares
the owner groups of A and B: groups equal, groups only in one, ads whose group differs,
and the pairwise precision/recall of A's groups against B's.

At 1M ads steps 1 and 3 take about half an hour each. ``--keep-base DIR`` copies store A
and its work folder to DIR after step 1 (with a link to the days, which must stay where
they are); ``--from-base DIR`` starts step 2 from such a copy and its days instead of
running step 1 (same world, ``--day`` and seed); ``--full-from OUT`` takes
step 3's store and figures from an earlier run's ``--out`` folder (its ``b.lbug`` and
``full.json``) instead of running it. The figures printed say which steps were reused.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

STAGES = ("ads", "bitcoin", "wallets", "payments", "authors", "owners")


def project(days: list[Path], work: Path, seed: int, target: float | None = None):
    from dataclasses import replace

    from ownergraph.project import Project

    p = Project.from_days(days, work_dir=work, stages=STAGES, seed=seed)
    return p if target is None else replace(p, author_target_precision=target)


def step(args: argparse.Namespace) -> None:
    """One step in this process; prints one JSON line with seconds, peak RSS, stages."""
    from bench_stylometry import PeakMemory

    from ownergraph.pipeline import run_project
    from ownergraph.store.base import open_store

    days = [Path(d) for d in args.days.split(",")]
    mem = PeakMemory()
    mem.start()
    t0 = time.perf_counter()
    with open_store(args.store_uri) as s:
        r = run_project(
            s,
            project(days, Path(args.work), args.seed, args.author_target_precision),
            incremental=args.step == "incremental",
        )
    secs = time.perf_counter() - t0
    peak = mem.stop()
    print(
        json.dumps(
            {
                "step": args.step,
                "seconds": round(secs, 2),
                "peak_gb": round(peak / 2**30, 3),
                "stages": {st.name: round(st.seconds, 2) for st in r.stages},
                "summaries": {
                    st.name: {k: v for k, v in st.summary.items() if isinstance(v, int | float)}
                    for st in r.stages
                },
            }
        )
    )


def run_step(
    name: str, days: list[Path], uri: str, work: Path, seed: int, target: float | None
) -> dict:
    cmd = [sys.executable, __file__, "--step", name, "--days", ",".join(map(str, days)),
           "--store-uri", uri, "--work", str(work), "--seed", str(seed)]  # fmt: skip
    if target is not None:
        cmd += ["--author-target-precision", str(target)]
    with open(work.parent / f"{name}.log", "w") as log:  # the step's own log, kept
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=log, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["load_avg_after"] = round(os.getloadavg()[0], 2)
    (work.parent / f"{name}.json").write_text(json.dumps(result, indent=1))
    return result


def copy_store(src: str | Path, dst: str) -> None:
    """Copy an embedded store (the file and its sidecars, e.g. ``.wal``)."""
    src = Path(src)
    for f in src.parent.glob(src.name + "*"):
        shutil.copy(f, Path(dst).parent / f.name.replace(src.name, Path(dst).name, 1))


def groups(uri: str):
    import pandas as pd

    from ownergraph.store.base import open_store

    with open_store(uri) as s:
        df = s.query_df("MATCH (a:Ad)-[:BELONGS_TO]->(o:Owner) RETURN a.id AS ad, o.id AS owner")
    return df.sort_values("ad").reset_index(drop=True), pd


def compare(uri_a: str, uri_b: str) -> dict:
    from sklearn.metrics.cluster import pair_confusion_matrix

    a, _ = groups(uri_a)
    b, _ = groups(uri_b)
    assert list(a["ad"]) == list(b["ad"]), "the two stores hold different ads"
    ga = {frozenset(g) for g in a.groupby("owner")["ad"].apply(frozenset)}
    gb = {frozenset(g) for g in b.groupby("owner")["ad"].apply(frozenset)}
    differ = set().union(*(ga - gb)) if ga - gb else set()
    (tn, fp), (fn, tp) = pair_confusion_matrix(b["owner"], a["owner"])
    return {
        "groups (incremental / full)": f"{len(ga)} / {len(gb)}",
        "groups equal": len(ga & gb),
        "groups only in incremental": len(ga - gb),
        "groups only in full": len(gb - ga),
        "ads in a differing group": len(differ),
        "same-group pairs: precision of incremental vs full": round(tp / max(tp + fp, 1), 5),
        "same-group pairs: recall of incremental vs full": round(tp / max(tp + fn, 1), 5),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", type=Path)
    ap.add_argument("--day", type=int, default=1000, help="new ads in the day")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_incremental"))
    ap.add_argument(
        "--author-target-precision", type=float,
        help="the project's author_target_precision (default: the product's); a lower one "
        "makes a world whose base run links no author exercise the incremental author path",
    )  # fmt: skip
    ap.add_argument("--keep-base", type=Path, help="copy store A and its work folder here")
    ap.add_argument("--from-base", type=Path, help="start from a --keep-base copy")
    ap.add_argument("--full-from", type=Path, help="an earlier --out with b.lbug, full.json")
    ap.add_argument("--step", choices=("base", "incremental", "full"))
    ap.add_argument("--days")
    ap.add_argument("--store-uri")
    ap.add_argument("--work")
    args = ap.parse_args()
    if args.step:
        return step(args)
    from ownergraph.synth.days import split_world

    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    ts = sorted(
        datetime.fromisoformat(t).timestamp()
        for t in (json.loads(x).get("posted_at") for x in open(args.world / "ads.jsonl"))
        if t
    )
    cut = int(ts[len(ts) - args.day])
    if args.from_base:  # the days the base was run with (input hashes are cached by path)
        days = sorted(p for p in (args.from_base / "days").resolve().iterdir() if p.is_dir())
    else:
        days = split_world(args.world, args.out / "days", [cut])
    n0 = sum(1 for _ in open(days[0] / "ads.jsonl"))
    n1 = sum(1 for _ in open(days[1] / "ads.jsonl"))
    when = datetime.fromtimestamp(cut, UTC).strftime("%Y-%m-%d %H:%M")
    print(f"world {args.world}: {n0:,} ads already processed + a day of {n1:,} new ads "
          f"(cut {when} UTC); cores {os.cpu_count()}")  # fmt: skip
    a, b = str(args.out / "a.lbug"), str(args.out / "b.lbug")
    tp = args.author_target_precision
    if args.from_base:
        copy_store(args.from_base / "a.lbug", a)
        shutil.copytree(args.from_base / "work-a", args.out / "work-a")
        print(f"base: copied from {args.from_base} (not run)")
    else:
        base = run_step("base", days[:1], a, args.out / "work-a", args.seed, tp)
        print(f"base (full run on the earlier ads): {base['seconds']} s, peak {base['peak_gb']} GB")
        if args.keep_base:
            shutil.rmtree(args.keep_base, ignore_errors=True)
            args.keep_base.mkdir(parents=True)
            copy_store(a, str(args.keep_base / "a.lbug"))
            shutil.copytree(args.out / "work-a", args.keep_base / "work-a")
            (args.keep_base / "days").symlink_to((args.out / "days").resolve())
    inc = run_step("incremental", days, a, args.out / "work-a", args.seed, tp)
    print(f"incremental (the new day): {inc['seconds']} s, peak {inc['peak_gb']} GB")
    if args.full_from:
        b = str(args.full_from / "b.lbug")
        full = json.loads((args.full_from / "full.json").read_text())
        print(f"full re-run: taken from {args.full_from} (not run; its load: "
              f"{full.get('load_avg_after')})")  # fmt: skip
    else:
        full = run_step("full", days, b, args.out / "work-b", args.seed, tp)
    print(f"\n{'stage':<12}{'incremental s':>15}{'full re-run s':>15}{'ratio':>8}")
    for st in STAGES:
        x, y = inc["stages"].get(st, 0.0), full["stages"].get(st, 0.0)
        print(f"{st:<12}{x:>15.2f}{y:>15.2f}{(y / x if x else float('nan')):>8.1f}")
    x, y = (r["seconds"] - sum(r["stages"].values()) for r in (inc, full))
    print(f"{'other':<12}{x:>15.2f}{y:>15.2f}{(y / x if x else float('nan')):>8.1f}"
          "   (store open/close, inputs hashed, audit, watches, top groups)")  # fmt: skip
    print(f"{'total':<12}{inc['seconds']:>15.2f}{full['seconds']:>15.2f}"
          f"{full['seconds'] / inc['seconds']:>8.1f}")  # fmt: skip
    print(f"{'peak GB':<12}{inc['peak_gb']:>15.3f}{full['peak_gb']:>15.3f}"
          f"{full['peak_gb'] / inc['peak_gb']:>8.1f}")  # fmt: skip
    cmp = compare(a, b)
    print("\nowner groups, incremental (store A) vs full re-run (store B):")
    for k, v in cmp.items():
        print(f"  {k}: {v}")
    print("\nincremental stage summaries:")
    for k, v in inc["summaries"].items():
        print(f"  {k}: {v}")


if __name__ == "__main__":
    main()
