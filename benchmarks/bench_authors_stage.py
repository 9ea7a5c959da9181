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

``--prepare DIR --ads N --prepare-from WORLD [WORLD ...]`` skips the world and the ads
stage: the store gets the first N ads of the given worlds with their true identifiers
(see ``prepare_direct``), e.g. when a 1M world and its ads stage do not fit the time.
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


def _cpu() -> float:
    """CPU seconds of this process and its reaped children (the featurising workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class StepLog(logging.Handler):
    """Times of the stage's "step: ..." log lines, and RSS samples between them."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.marks: list[tuple[float, str]] = [(time.perf_counter(), "start")]
        self.cpu: list[float] = [_cpu()]
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if msg.startswith("step: "):
            self.marks.append((time.perf_counter(), msg[6:]))
            self.cpu.append(_cpu())

    def _sample(self) -> None:
        pid = os.getpid()
        while not self._stop.wait(0.2):
            self.samples.append((time.perf_counter(), tree_rss(pid)))

    def table(self) -> list[dict[str, Any]]:
        self._stop.set()
        self._thread.join()
        marks = self.marks + [(time.perf_counter(), "rest of the stage")]
        cpu = self.cpu + [_cpu()]
        out = []
        # a "step: X" line is logged when X is done: the interval before it is X's
        for k, ((t0, _), (t1, name)) in enumerate(zip(marks, marks[1:], strict=False)):
            rss = [r for t, r in self.samples if t0 <= t <= t1]
            out.append(
                {
                    "step": name,
                    "seconds": round(t1 - t0, 1),
                    "cpu_s": round(cpu[k + 1] - cpu[k], 1),
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


def prepare_direct(root: Path, worlds: list[Path], n_ads: int) -> dict[str, int]:
    """A store of the first ``n_ads`` ads of the world folders (in the order given; a
    world still being written counts up to its last complete line) holding each ad's
    title and body and its TRUE phones and e-mails (``truth/ads.csv``), written in bulk
    without the ads stage, whose identifier extraction takes longer than a shared machine
    allows at 1M ads. Ad ids and identifier keys carry the world's number, so that worlds
    made with the same seed share neither ads nor phones. Only what the authors stage
    reads is written (Ad id/title/body, Phone, Email, HAS_PHONE, HAS_EMAIL)."""
    import pandas as pd

    from ownergraph.store.base import open_store

    ads: list[dict[str, str]] = []
    has: dict[str, list[dict[str, str]]] = {"HAS_PHONE": [], "HAS_EMAIL": []}
    per_world = {}
    for k, world in enumerate(worlds):
        if len(ads) >= n_ads:
            break
        truth = pd.read_csv(
            world / "truth" / "ads.csv", dtype=str, usecols=["ad_id", "phones", "emails"]
        ).set_index("ad_id")
        phones, emails = truth["phones"].to_dict(), truth["emails"].to_dict()
        before = len(ads)
        with (world / "ads.jsonl").open("rb") as f:
            for line in f:
                if len(ads) >= n_ads or not line.endswith(b"\n"):
                    break
                ad = json.loads(line)
                if ad["id"] not in phones:  # its truth row not written yet
                    continue
                ad_id = f"w{k}-{ad['id']}"
                ads.append({"id": ad_id, "title": ad.get("title"), "body": ad.get("body")})
                for rel, keys in (("HAS_PHONE", phones), ("HAS_EMAIL", emails)):
                    for key in str(keys.get(ad["id"]) or "").split(";"):
                        if key and key != "nan":
                            has[rel].append({"src": ad_id, "dst": f"w{k}:{key}"})
        per_world[str(world)] = len(ads) - before
    with open_store(str(root / "graph.lbug")) as store:
        store.init_schema()
        store.upsert_nodes("Ad", ads)
        store.upsert_nodes("Phone", [{"number": n} for n in {e["dst"] for e in has["HAS_PHONE"]}])
        store.upsert_nodes("Email", [{"address": a} for a in {e["dst"] for e in has["HAS_EMAIL"]}])
        for rel, rows in has.items():
            if rows:
                store.upsert_edges(rel, rows)
    (root / "world").mkdir(parents=True, exist_ok=True)  # the stage's project folder
    out = {"ads": len(ads), "has_phone": len(has["HAS_PHONE"]), "has_email": len(has["HAS_EMAIL"])}
    (root / "prepared.json").write_text(json.dumps(out | {"worlds": per_world}, indent=1))
    return out


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
    (root / "run").mkdir(parents=True, exist_ok=True)  # as run_pipeline makes its work dir
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
    ap.add_argument(
        "--prepare-from",
        type=Path,
        nargs="+",
        help="with --prepare: a store of these worlds' ads and true identifiers, no ads stage",
    )
    ap.add_argument("--run", type=Path, help="run the authors stage on this prepared folder")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.prepare and args.prepare_from:
        print(prepare_direct(args.prepare, args.prepare_from, args.ads))
    elif args.prepare:
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
        print(f"{'sub-step':<44} {'s':>8} {'CPU s':>8} {'peak GB':>8} {'end GB':>8}")
        for s in res["steps"]:
            print(
                f"{s['step']:<44} {s['seconds']:>8} {s['cpu_s']:>8} {s['peak_gb']!s:>8} "
                f"{s['end_gb']!s:>8}"
            )
        if args.json:
            args.json.write_text(json.dumps(res, indent=1, default=str))


if __name__ == "__main__":
    main()
