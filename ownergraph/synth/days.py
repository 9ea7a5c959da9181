"""Split a synthetic world into days: the files a daily operation would receive.

``split_world(world, out, cuts)`` writes ``out/day0``, ``out/day1``, ... each with the ads
posted, the blocks mined and the mempool first-seen rows logged in its time span, plus the
shared rates, prices, processor list and truth (links to the world's files). Ads without
a posting time go to the first day.
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import datetime
from pathlib import Path


def _span(ts: float | None, cuts: list[int]) -> int:
    if ts is None:
        return 0
    return sum(ts >= c for c in cuts)


def split_world(world: str | Path, out: str | Path, cuts: list[int]) -> list[Path]:
    """Day folders for the spans ``[-inf, cuts[0])``, ``[cuts[0], cuts[1])``, ..."""
    w, o = Path(world), Path(out)
    days = [o / f"day{i}" for i in range(len(cuts) + 1)]
    for d in days:
        (d / "bitcoin").mkdir(parents=True, exist_ok=True)
        for name in ("rates.csv", "prices.json"):
            shutil.copyfile(w / name, d / name)
        shutil.copyfile(
            w / "bitcoin" / "processor_addresses.txt", d / "bitcoin" / "processor_addresses.txt"
        )
    outs = [open(d / "ads.jsonl", "w", encoding="utf-8") for d in days]  # noqa: SIM115
    with open(w / "ads.jsonl", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            t = rec.get("posted_at")
            ts = datetime.fromisoformat(t).timestamp() if t else None
            outs[_span(ts, cuts)].write(line)
    for x in outs:
        x.close()
    outs = [open(d / "bitcoin" / "blocks.jsonl", "w", encoding="utf-8") for d in days]  # noqa: SIM115
    with open(w / "bitcoin" / "blocks.jsonl", encoding="utf-8") as f:
        for line in f:
            outs[_span(json.loads(line)["time"], cuts)].write(line)
    for x in outs:
        x.close()
    outs = [open(d / "bitcoin" / "mempool_first_seen.csv", "w", newline="") for d in days]  # noqa: SIM115
    writers = [csv.writer(x) for x in outs]
    with open(w / "bitcoin" / "mempool_first_seen.csv", newline="") as f:
        rows = csv.reader(f)
        header = next(rows)
        for wr in writers:
            wr.writerow(header)
        for r in rows:
            writers[_span(float(r[1]), cuts)].writerow(r)
    for x in outs:
        x.close()
    return days
