"""The authors stage of the product path alone: wall, CPU and peak memory per sub-step.

Runs ``ownergraph.pipeline._authors`` (what ``ownergraph run`` / ``demo`` run for the
authors stage) on a store that already holds a world's ads, with the same meter as
``bench_end_to_end.py`` (peak RSS of the process and its workers, sampled every 0.2 s;
CPU of the process and its reaped workers). The stage logs a line at each sub-step
(``ownergraph.linking.stylometry`` loggers, "step: X" once X is done); the time and
peak RSS since the previous such line are reported as X's. Prints the stage's figures
and the same per 100k ads, against the 1M target (15 min, 8 GB) scaled to the size.

Prepare a store once per size (world + ads stage only), then run the stage:

    python benchmarks/bench_authors_stage.py --prepare DIR --ads 100000
    python benchmarks/bench_authors_stage.py --run DIR [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_end_to_end import GB, TARGET_1M_BYTES, TARGET_1M_SECONDS, Meter  # noqa: E402
from rss import tree_rss  # noqa: E402


class StepLog(logging.Handler):
    """Times of the stage's "step: ..." log lines, and RSS samples between them."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.marks: list[tuple[float, str]] = [(time.perf_counter(), "start")]
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if msg.startswith("step: "):
            self.marks.append((time.perf_counter(), msg[6:]))

    def _sample(self) -> None:
        pid = os.getpid()
        while not self._stop.wait(0.2):
            self.samples.append((time.perf_counter(), tree_rss(pid)))

    def table(self) -> list[dict[str, Any]]:
        self._stop.set()
        self._thread.join()
        marks = self.marks + [(time.perf_counter(), "rest of the stage")]
        out = []
        # a "step: X" line is logged when X is done: the interval before it is X's
        for (t0, _), (t1, name) in zip(marks, marks[1:], strict=False):
            rss = [r for t, r in self.samples if t0 <= t <= t1]
            out.append(
                {
                    "step": name,
                    "seconds": round(t1 - t0, 1),
                    "peak_gb": round(max(rss) / GB, 2) if rss else None,
                    "end_gb": round(rss[-1] / GB, 2) if rss else None,
                }
            )
        return out


def prepare(root: Path, n_ads: int, seed: int) -> None:
    """A world of ``n_ads`` ads and a store holding its ads (the ads stage only)."""
    from ownergraph.pipeline import run_pipeline
    from ownergraph.store.base import open_store
    from ownergraph.synth.world import generate_world

    generate_world(root / "world", n_ads=n_ads, seed=seed)
    with open_store(str(root / "graph.lbug")) as store:
        run_pipeline(store, root / "world", work_dir=root / "run", stages=("ads",), seed=seed)


def run(root: Path, seed: int) -> dict[str, Any]:
    """The authors stage on ``root``'s store, metered."""
    from ownergraph.pipeline import _authors
    from ownergraph.project import Project
    from ownergraph.store.base import open_store

    logging.basicConfig(level=logging.WARNING)
    steps = StepLog()
    logging.getLogger("ownergraph").addHandler(steps)
    logging.getLogger("ownergraph").setLevel(logging.INFO)
    project = Project.from_world(root / "world", work_dir=root / "run", seed=seed)
    meter = Meter()
    with open_store(str(root / "graph.lbug")) as store:
        n_ads = store.query("MATCH (a:Ad) RETURN count(a) AS n")[0]["n"]
        meter.start("authors")
        summary = _authors(store, project, root / "run", {})
        meter.close()
    st = meter.stages[0]
    per = 100_000 / n_ads
    return {
        "ads": int(n_ads),
        "wall_s": round(st["wall"], 1),
        "cpu_s": round(st["cpu"], 1),
        "peak_gb": round(st["peak_rss"] / GB, 2),
        "per_100k": {
            "wall_s": round(st["wall"] * per, 1),
            "cpu_s": round(st["cpu"] * per, 1),
            "peak_gb": round(st["peak_rss"] / GB * per, 2),
        },
        "target": {
            "wall_s": round(TARGET_1M_SECONDS * n_ads / 1e6, 1),
            "peak_gb": round(TARGET_1M_BYTES / GB * n_ads / 1e6, 2),
        },
        "steps": steps.table(),
        "summary": {k: v for k, v in summary.items() if isinstance(v, int | float | str)},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prepare", type=Path, help="make a world and a store of its ads here")
    ap.add_argument("--ads", type=int, default=100_000)
    ap.add_argument("--run", type=Path, help="run the authors stage on this prepared folder")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.prepare:
        prepare(args.prepare, args.ads, args.seed)
    if args.run:
        res = run(args.run, args.seed)
        print(
            f"authors stage, {res['ads']:,} ads: wall {res['wall_s']} s, CPU {res['cpu_s']} s, "
            f"peak {res['peak_gb']} GB (target at this size: {res['target']['wall_s']} s, "
            f"{res['target']['peak_gb']} GB)"
        )
        p = res["per_100k"]
        print(f"per 100k ads: wall {p['wall_s']} s, CPU {p['cpu_s']} s, peak {p['peak_gb']} GB")
        print(f"{'sub-step':<44} {'s':>8} {'peak GB':>8} {'end GB':>8}")
        for s in res["steps"]:
            print(f"{s['step']:<44} {s['seconds']:>8} {s['peak_gb']!s:>8} {s['end_gb']!s:>8}")
        if args.json:
            args.json.write_text(json.dumps(res, indent=1, default=str))


if __name__ == "__main__":
    main()
