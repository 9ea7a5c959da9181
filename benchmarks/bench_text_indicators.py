"""Precision and recall of each text extractor on hand-labelled real ads.

Labels (``benchmarks/labels/text_indicators_socal*.csv``: row, ad id and labels only, never
the text) were written by one person (the issue-18 helper) reading each ad's title and
body in full, rows of the DIG SoCal/Las Vegas 2014 set
(``../shared/data/ads/dig_backpage_socal_lasvegas_2014.json``, rows in file order as
``real_ads._socal_rows()`` reads them):

- development: 40 rows, ``random.Random(18).sample(range(2682), 40)``; the rules were
  adjusted while reading these, so their figures are optimistic;
- held-out: 30 further rows, ``random.Random(19).sample(<the other rows>, 30)``, labelled
  after the rules were written and not used to change them: the figures to quote.

Names, ages and ethnicities are scored per (ad, value) pair (micro-averaged), the flags
per ad. A title's trailing ``- NN`` (Backpage's age field) counts as a stated age; an
ethnicity that describes the wanted or refused clients ("no black men") is not one.

    python benchmarks/bench_text_indicators.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_ads import SOCAL_JSON, _socal_rows  # noqa: E402

from ownergraph.text_indicators import BOOL_INDICATORS, extract  # noqa: E402

LABEL_DIR = Path(__file__).resolve().parent / "labels"
# development: the rules were tuned while reading these; held-out: labelled after that,
# and not used to change the rules
LABELS = {
    "development": LABEL_DIR / "text_indicators_socal.csv",
    "held-out": LABEL_DIR / "text_indicators_socal_heldout.csv",
}


def _set(v: object, cast: type = str) -> set:
    if v is None or (isinstance(v, float) and pd.isna(v)) or str(v).strip() == "":
        return set()
    parts = [x.strip() for x in str(v).split(";")]
    return {int(x) for x in parts} if cast is int else {x.casefold() for x in parts}


def _pr(tp: int, fp: int, fn: int) -> tuple[float, float]:
    p = tp / (tp + fp) if tp + fp else float("nan")
    r = tp / (tp + fn) if tp + fn else float("nan")
    return p, r


def main() -> None:
    if not SOCAL_JSON.exists():
        sys.exit(f"skipped: {SOCAL_JSON} is absent")
    rows = _socal_rows()
    for sample, path in LABELS.items():
        report(sample, pd.read_csv(path, dtype=str, keep_default_na=False), rows)


def report(sample: str, labels: pd.DataFrame, rows: list[dict]) -> None:
    counts = {k: [0, 0, 0] for k in ("names", "ages", "ethnicities", *BOOL_INDICATORS, "incall")}
    misses: dict[str, list[str]] = {k: [] for k in counts}
    for lab in labels.itertuples(index=False):
        ad = rows[int(lab.row)]  # the set repeats ids (re-crawls): the row labelled
        if str(ad["id"]) != lab.ad_id:
            sys.exit(f"labels do not match {SOCAL_JSON.name}: row {lab.row} is not ad {lab.ad_id}")
        got = extract(ad["title"], ad["body"])
        for key, truth, pred in (
            ("names", _set(lab.names), {n.casefold() for n in got.names}),
            ("ages", _set(lab.ages, int), set(got.ages)),
            ("ethnicities", _set(lab.ethnicities), set(got.ethnicities)),
        ):
            c = counts[key]
            c[0] += len(truth & pred)
            c[1] += len(pred - truth)
            c[2] += len(truth - pred)
            if truth != pred:
                misses[key].append(f"{lab.ad_id}: +{sorted(pred - truth)} -{sorted(truth - pred)}")
        for key in (*BOOL_INDICATORS, "incall"):
            t = getattr(lab, key) == "1"
            p = bool(getattr(got, key))
            c = counts[key]
            c[0] += t and p
            c[1] += p and not t
            c[2] += t and not p
            if t != p:
                misses[key].append(f"{lab.ad_id}: predicted {p}")
    print(f"\n{sample}: text extractors on {len(labels)} hand-labelled real ads")
    print(f"{'extractor':<14} {'labelled':>8} {'found':>6} {'precision':>9} {'recall':>7}")
    for key, (tp, fp, fn) in counts.items():
        p, r = _pr(tp, fp, fn)
        print(f"{key:<14} {tp + fn:>8} {tp + fp:>6} {p:>9.2f} {r:>7.2f}")
    if "-v" in sys.argv:
        for key, m in misses.items():
            for line in m:
                print(f"  {key} {line}")


if __name__ == "__main__":
    main()
