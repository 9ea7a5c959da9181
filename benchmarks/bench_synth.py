"""Synthetic world generation: ads per second and peak memory, streamed vs held in memory.

Each measurement runs in a fresh subprocess (peak RSS is per process):

1. generate a world of ``--small`` ads and of ``--ads`` ads: wall time, CPU time, ads/s,
   peak RSS. Streaming means the peak barely grows with the number of ads.
2. reference, same run: a process that only holds the ``--ads`` ads of that world in
   memory as Python dicts (what any generator that builds the ads before writing them
   needs at least), and the bare cost of serialising and writing those ads
   (``json.dumps`` to a file), the floor for any generator.

Usage: python benchmarks/bench_synth.py [--ads 100000] [--small 10000] [--seed 1]
(``--ads 1000000`` runs the million-ad world once; it needs about 2 GB of disk).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
mode, path = sys.argv[1], sys.argv[2]
t0, c0 = time.perf_counter(), time.process_time()
out = {}
if mode == "gen":
    from ownergraph.synth import generate_world
    s = generate_world(path, int(sys.argv[3]), seed=int(sys.argv[4]))
    out = {"n_ads": s.n_ads, "txs": s.chain["txs"], "blocks": s.chain["blocks"]}
elif mode == "hold":
    with open(path + "/ads.jsonl", encoding="utf-8") as f:
        ads = [json.loads(line) for line in f]
    out = {"n_ads": len(ads)}
elif mode == "write":
    with open(path + "/ads.jsonl", encoding="utf-8") as f:
        ads = [json.loads(line) for line in f]
    t0, c0 = time.perf_counter(), time.process_time()
    with open(path + "/rewrite.jsonl", "w", encoding="utf-8") as f:
        for a in ads:
            f.write(json.dumps(a, ensure_ascii=False) + "\n")
    out = {"n_ads": len(ads)}
out["wall_s"] = time.perf_counter() - t0
out["cpu_s"] = time.process_time() - c0
out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def child(*args: str) -> dict:
    r = subprocess.run(
        [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, check=False
    )
    if r.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ads", type=int, default=100_000)
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        small_dir, big_dir = Path(tmp) / "small", Path(tmp) / "big"
        small = child("gen", str(small_dir), str(args.small), str(args.seed))
        big = child("gen", str(big_dir), str(args.ads), str(args.seed))
        hold = child("hold", str(big_dir))
        write = child("write", str(big_dir))
        disk = size_mb(big_dir) - (big_dir / "rewrite.jsonl").stat().st_size / 1e6

    def line(name: str, r: dict) -> str:
        rate = r["n_ads"] / r["wall_s"]
        cpu_rate = r["n_ads"] / r["cpu_s"] if r["cpu_s"] else float("inf")
        return (
            f"{name:34s} {r['n_ads']:>9d} ads {r['wall_s']:8.1f} s wall {r['cpu_s']:8.1f} s cpu "
            f"{rate:9.0f} ads/s ({cpu_rate:.0f}/cpu-s) peak RSS {r['maxrss_mb']:7.1f} MB"
        )

    print(line(f"generate {args.small}", small))
    print(line(f"generate {args.ads}", big))
    print(f"  world on disk: {disk:.0f} MB; {big['txs']} transactions in {big['blocks']} blocks")
    print(line("reference: hold the ads in memory", hold))
    print(line("reference: json.dumps + write ads", write))
    print()
    grow = big["maxrss_mb"] / small["maxrss_mb"]
    print(
        f"peak memory x{grow:.2f} for x{args.ads / args.small:.0f} ads (streamed); "
        f"generator peak / hold-in-memory peak = {big['maxrss_mb'] / hold['maxrss_mb']:.2f}"
    )
    print(
        f"generation CPU per ad / bare serialise-and-write CPU per ad = "
        f"{big['cpu_s'] / max(write['cpu_s'], 1e-9):.1f}x"
    )
    per_ad = big["cpu_s"] / big["n_ads"]
    print(
        f"1,000,000 ads would take about {per_ad * 1e6 / 60:.1f} CPU-minutes at this rate "
        f"(~{disk * 1e6 / big['n_ads'] / 1000:.1f} GB on disk)"
    )


if __name__ == "__main__":
    main()
