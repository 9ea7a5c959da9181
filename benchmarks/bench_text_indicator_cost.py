"""What the text indicators cost ``owners detect`` per ad: read at detection from every
ad's text (old) vs read once at load and stored on the Ad (``text_rules``, ``text_names``,
...; new), in one run on the same store.

Ads: the real California Backpage ads (``../shared/data/ads/backpage_women_seeking_men_
california.csv``, 6,201 ads; title and body only) when present, else a synthetic world
of ``--ads`` ads. They are loaded into a fresh embedded store; then, ``--repeat`` times
each (best kept):

- old: read the ads' text from the store and run the rules on every ad
  (:func:`ownergraph.text_indicators.extract_frame`), as ``owners detect`` did;
- new: read the ads with their stored properties and rebuild the same frame
  (:func:`ownergraph.text_indicators.stored_or_extracted`).

Both frames are checked equal. The load's extra cost (the rules, run once per ad at load)
is the old per-ad figure.

    python benchmarks/bench_text_indicator_cost.py
    python benchmarks/bench_text_indicator_cost.py --ads 20000   # synthetic, no shared data
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from ownergraph import text_indicators as ti
from ownergraph.loaders.ads import load_ads
from ownergraph.stages.owners import read_ads
from ownergraph.store.base import open_store

REAL = (
    Path(__file__).resolve().parents[2]
    / "shared/data/ads/backpage_women_seeking_men_california.csv"
)
TEXT_QUERY = "MATCH (a:Ad) RETURN a.id AS id, a.title AS title, a.body AS body"


def ads_file(tmp: Path, n_ads: int) -> tuple[Path, str]:
    if REAL.exists():
        df = pd.read_csv(REAL, dtype=str, keep_default_na=False)[["id", "title", "body"]]
        path = tmp / "ads.jsonl"
        df.to_json(path, orient="records", lines=True, force_ascii=False)
        return path, f"{len(df):,} real California Backpage ads"
    from ownergraph.synth.world import generate_world

    generate_world(tmp / "world", n_ads=n_ads, seed=1)
    return tmp / "world" / "ads.jsonl", f"a synthetic world of {n_ads:,} ads (no shared data)"


def same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    def norm(df: pd.DataFrame) -> pd.DataFrame:
        df = df.sort_index().astype(object)
        return df.where(df.notna(), None)

    return norm(a).equals(norm(b))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ads", type=int, default=20_000, help="synthetic ads without shared data")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path, what = ads_file(Path(tmp), a.ads)
        with open_store(str(Path(tmp) / "graph.lbug")) as store:
            store.init_schema()
            t0 = time.perf_counter()
            s = load_ads(store, path)
            load_s = time.perf_counter() - t0
            old_t, new_t = [], []
            for _ in range(a.repeat):
                t0 = time.perf_counter()
                text = pd.DataFrame(store.query(TEXT_QUERY)).sort_values("id")
                old = ti.extract_frame(text).drop(columns="evidence")
                old_t.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                new = ti.stored_or_extracted(read_ads(store))
                new_t.append(time.perf_counter() - t0)
    n = s.loaded
    old_ms, new_ms = 1000 * min(old_t) / n, 1000 * min(new_t) / n
    print(f"{what}: {n:,} loaded in {load_s:.1f} s ({1000 * load_s / n:.2f} ms per ad, "
          "the rules included)")  # fmt: skip
    print(f"old: text read and the rules run at detection  {old_ms:8.3f} ms per ad "
          f"({old_ms * 1e6 / 1000 / 60:.1f} min per 1M ads)")  # fmt: skip
    print(f"new: stored properties read at detection       {new_ms:8.3f} ms per ad "
          f"({new_ms * 1e6 / 1000 / 60:.1f} min per 1M ads)")  # fmt: skip
    print(f"ratio old/new: {old_ms / new_ms:.1f}x; frames equal: {same(old, new)}")


if __name__ == "__main__":
    main()
