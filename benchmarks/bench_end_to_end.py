"""The product's own path end to end, per stage: wall time, CPU time and peak memory.

Runs what ``ownergraph demo`` / ``ownergraph run`` run (``ownergraph.pipeline``) on a
generated world of each size, in a fresh process per size, and prints per stage and in
total: wall seconds, CPU seconds (the process and its reaped workers) and peak resident
memory (the process plus its live worker processes, sampled every 0.2 s), then the same
per 100k ads so the growth can be read off across sizes, and the evaluation against the
world's truth (owner B-cubed, definite payment-link precision).

The reference printed beside each size is the target of the 1M-ad path (15 min wall,
8 GB peak on 2 cores), scaled linearly to the size.

    python benchmarks/bench_end_to_end.py --sizes 100000 300000 1000000 [--keep DIR]
    python benchmarks/bench_end_to_end.py --world W   # a world made before (copied)

``--world W`` runs on a copy of a world made before (``ownergraph synth --out W``; the
size is its ad count, pictures are added to the copy), so a 1M run need not regenerate
its world (about 13 min on a quiet machine); its world row is then the copy's time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rss import tree_rss  # noqa: E402

TARGET_1M_SECONDS = 15 * 60
TARGET_1M_BYTES = 8 * 1024**3
GB = 1024**3


class Meter:
    """Peak RSS of this process tree, wall and CPU time, per stage."""

    def __init__(self) -> None:
        self.stages: list[dict[str, Any]] = []
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        pid = os.getpid()
        while not self._stop.wait(0.2):
            self._peak = max(self._peak, tree_rss(pid))

    @staticmethod
    def _cpu() -> float:
        s = resource.getrusage(resource.RUSAGE_SELF)
        c = resource.getrusage(resource.RUSAGE_CHILDREN)
        return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

    def start(self, name: str) -> None:
        self.finish()
        self._peak = tree_rss(os.getpid())
        self.stages.append({"stage": name, "t0": time.perf_counter(), "c0": self._cpu()})

    def finish(self) -> None:
        if self.stages and "wall" not in self.stages[-1]:
            st = self.stages[-1]
            st["wall"] = time.perf_counter() - st.pop("t0")
            st["cpu"] = self._cpu() - st.pop("c0")
            st["peak_rss"] = max(self._peak, tree_rss(os.getpid()))

    def close(self) -> None:
        self.finish()
        self._stop.set()


def run_one(
    n_ads: int, seed: int, root: Path, photo_ads: int, made: Path | None = None
) -> dict[str, Any]:
    """World + pipeline at one size, in this process; returns the measurements.

    ``made``: copy this world instead of generating one (``n_ads`` is then its size)."""
    from ownergraph.pipeline import STAGES, run_pipeline
    from ownergraph.store.base import open_store
    from ownergraph.synth.world import generate_world

    meter = Meter()
    world = root / "world"
    if made is not None:
        meter.start("world (copied, not the product)")
        shutil.copytree(made, world)
    else:
        meter.start("world (generator, not the product)")
        generate_world(world, n_ads=n_ads, seed=seed)
    if photo_ads:
        from ownergraph.synth.photos import add_photos

        add_photos(world, seed=seed, max_ads=photo_ads)
    meter.finish()
    with open_store(str(root / "graph.lbug")) as store:
        result = run_pipeline(
            store, world, work_dir=root / "run", stages=STAGES, seed=seed, on_stage=meter.start
        )
    meter.close()
    ev = result.evaluation
    owners = ev.get("owners", {})
    definite = ev.get("payments (definite)", {})
    return {
        "ads": n_ads,
        "seed": seed,
        "stages": meter.stages,
        "owners_f1": owners.get("bcubed_f1"),
        "owners_precision": owners.get("bcubed_precision"),
        "owners_recall": owners.get("bcubed_recall"),
        "definite_payment_precision": definite.get("precision"),
        "definite_payment_recall": definite.get("recall"),
        "authors": ev.get("authors", {}),
        "owners_summary": next((s.summary for s in result.stages if s.name == "owners"), {}).get(
            "calibration", {}
        ),
    }


def _fmt_table(res: dict[str, Any]) -> str:
    n = res["ads"]
    per = 100_000 / n
    lines = [
        f"\n== {n:,} ads (seed {res['seed']}) ==",
        f"{'stage':<38}{'wall s':>9}{'CPU s':>9}{'peak GB':>9}"
        f"{'wall s/100k':>13}{'CPU s/100k':>12}",
    ]
    product = [s for s in res["stages"] if not s["stage"].startswith("world")]
    for s in res["stages"]:
        lines.append(
            f"{s['stage']:<38}{s['wall']:>9.1f}{s['cpu']:>9.1f}{s['peak_rss'] / GB:>9.2f}"
            f"{s['wall'] * per:>13.1f}{s['cpu'] * per:>12.1f}"
        )
    wall = sum(s["wall"] for s in product)
    cpu = sum(s["cpu"] for s in product)
    peak = max((s["peak_rss"] for s in product), default=0)
    lines.append(
        f"{'product path total':<38}{wall:>9.1f}{cpu:>9.1f}{peak / GB:>9.2f}"
        f"{wall * per:>13.1f}{cpu * per:>12.1f}"
    )
    t_target = TARGET_1M_SECONDS * n / 1_000_000
    lines.append(
        f"reference (the 1M target scaled to {n:,} ads: {t_target:.0f} s): "
        f"wall {wall / t_target:.2f}x the target; peak {peak / GB:.2f} GB against 8 GB "
        f"({peak / TARGET_1M_BYTES:.2f}x)"
    )
    lines.append(
        f"owners B-cubed F1 {res['owners_f1']} (precision {res['owners_precision']}, "
        f"recall {res['owners_recall']}); definite payment links precision "
        f"{res['definite_payment_precision']} (recall {res['definite_payment_recall']})"
    )
    lines.append(f"owner setting: {res['owners_summary'].get('setting')}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--photo-ads", type=int, default=1500, help="as the demo (0: none)")
    ap.add_argument("--keep", help="keep worlds and stores under this folder")
    ap.add_argument("--json", help="write all measurements to this file")
    ap.add_argument("--world", help="a world made before (its seed is --seed's): run on a copy")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child: one size
    ap.add_argument("--root", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        made = Path(args.world) if args.world else None
        res = run_one(args.one, args.seed, Path(args.root), args.photo_ads, made)
        print("RESULT " + json.dumps(res, default=str), flush=True)
        return
    results = []
    if args.world:
        with open(Path(args.world) / "ads.jsonl", "rb") as f:
            args.sizes = [sum(1 for _ in f)]
    for n in args.sizes:
        base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="og-e2e-"))
        root = base / f"ads{n}"
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        cmd = [sys.executable, __file__, "--one", str(n), "--root", str(root)]
        cmd += ["--seed", str(args.seed), "--photo-ads", str(args.photo_ads)]
        cmd += ["--world", args.world] if args.world else []
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            print(
                f"\n== {n:,} ads: FAILED after {time.perf_counter() - t:.0f} s "
                f"(exit {proc.returncode}; a negative exit is a signal, -9 the OOM killer)\n"
                + proc.stderr[-3000:]
            )
            continue
        res = json.loads(line[len("RESULT ") :])
        results.append(res)
        print(_fmt_table(res), flush=True)
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
