"""Phone extraction on real ads: precision/recall on hand-checked ground truth, throughput.

    python benchmarks/bench_identifiers.py [--data ../shared/data] [--show 20]

Side by side in one run: plain ``phonenumbers.PhoneNumberMatcher`` on the raw text
(leniency VALID) vs ``ownergraph.loaders.identifiers.extract_phones``.

Ground truth: ``ads/obfuscated_phones_groundtruth.json`` (53 real ads, gold numbers in
``int_ext_gt``). Counted per (ad, number) pair, comparing *national significant numbers*
(E.164 without the country code: 10 digits for North America), so that a correct number
in a wrong country code (the file has one: a Canadian number filed as +44) still counts.
Text = title + body (the URL is not read). Two region settings:

- ``US``: every ad parsed with default region US (the project default).
- ``site``: the ad's country from its Backpage site name in the URL (``tokyo.backpage.com``
  -> JP); numbers written nationally with a trunk 0 (``080 4225 6072``) need it. The table
  below is geography (site name -> country), written without looking at the gold numbers;
  sites not listed (US and Canadian ones, other hosts) use US, which covers +1.

Throughput: title + body of every ad of ``ads/backpage_women_seeking_men_california.csv``
(6,201 ads, no labels), plus how many ads get at least one phone.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import phonenumbers
from phonenumbers import PhoneNumberFormat

from ownergraph.loaders.identifiers import extract_phones

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

#: Backpage site (URL sub-domain) -> ISO country, for the non-NANP sites in the file.
SITE_REGION = {
    "melbourne": "AU", "perth": "AU", "pune": "IN", "hyderabad": "IN", "delhi": "IN",
    "london": "GB", "moskva": "RU", "singapore": "SG", "milano": "IT", "malaysia": "MY",
    "quito": "EC", "frankfurt": "DE", "helsinki": "FI", "istanbul": "TR", "tokyo": "JP",
    "hongkong": "HK",
}  # fmt: skip


@dataclass
class GtAd:
    url: str
    text: str
    gold: set[str]  # national significant numbers
    site_region: str


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    misses: list[tuple[int, str]] = field(default_factory=list)
    false_pos: list[tuple[int, str]] = field(default_factory=list)

    @property
    def gold(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / self.gold if self.gold else 1.0


def nsn(e164: str) -> str:
    return phonenumbers.national_significant_number(phonenumbers.parse(e164))


def site_region(url: str) -> str:
    host = urlparse(url).hostname or ""
    if host.endswith(".backpage.com"):
        return SITE_REGION.get(host.split(".")[0], "US")
    return "US"


def load_groundtruth(path: Path) -> list[GtAd]:
    rows = json.loads(path.read_text(encoding="utf-8"))["jsonlines"]
    return [
        GtAd(
            url=r.get("url", ""),
            text=f"{r.get('title', '')}\n{r.get('body', '')}",
            gold={nsn(x) for x in r["int_ext_gt"]},
            site_region=site_region(r.get("url", "")),
        )
        for r in rows
    ]


def ours(text: str, region: str) -> list[str]:
    return [m.e164 for m in extract_phones(text, region)]


def plain(text: str, region: str) -> list[str]:
    return [
        phonenumbers.format_number(m.number, PhoneNumberFormat.E164)
        for m in phonenumbers.PhoneNumberMatcher(text, region)
    ]


def score(ads: list[GtAd], fn: Callable[[str, str], list[str]], regions: str = "site") -> Score:
    s = Score()
    for i, ad in enumerate(ads):
        region = ad.site_region if regions == "site" else regions
        pred = {nsn(e) for e in fn(ad.text, region)}
        s.tp += len(pred & ad.gold)
        s.fp += len(pred - ad.gold)
        s.fn += len(ad.gold - pred)
        s.misses += [(i, x) for x in sorted(ad.gold - pred)]
        s.false_pos += [(i, x) for x in sorted(pred - ad.gold)]
    return s


def throughput(texts: list[str], fn: Callable[[str, str], list[str]]) -> tuple[float, int]:
    for t in texts[:200]:  # warm caches
        fn(t, "US")
    t0 = time.perf_counter()
    found = [fn(t, "US") for t in texts]
    dt = time.perf_counter() - t0
    return len(texts) / dt, sum(1 for f in found if f)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--show", type=int, default=20, help="misses/false positives to print")
    args = ap.parse_args()
    gt_path = args.data / "ads" / "obfuscated_phones_groundtruth.json"
    csv_path = args.data / "ads" / "backpage_women_seeking_men_california.csv"
    if not gt_path.exists() or not csv_path.exists():
        print(f"skipped: real data not found under {args.data} (it is not in the repository)")
        return 0

    ads = load_groundtruth(gt_path)
    print(f"ground truth: {len(ads)} ads, {sum(len(a.gold) for a in ads)} (ad, number) pairs")
    print(
        f"{'extractor':<34}{'regions':<8}{'TP':>4}{'FP':>4}{'FN':>4}{'precision':>11}{'recall':>8}"
    )
    results = {}
    for name, fn in (("plain phonenumbers.Matcher", plain), ("ownergraph extract_phones", ours)):
        for regions in ("US", "site"):
            s = score(ads, fn, regions)
            results[name, regions] = s
            print(
                f"{name:<34}{regions:<8}{s.tp:>4}{s.fp:>4}{s.fn:>4}"
                f"{s.precision:>11.3f}{s.recall:>8.3f}"
            )
    for regions in ("US", "site"):
        p, o = (
            results["plain phonenumbers.Matcher", regions],
            results["ownergraph extract_phones", regions],
        )
        print(f"recall ratio ours/plain ({regions}): {o.recall / p.recall:.2f}x")

    for regions in ("site", "US"):
        s = results["ownergraph extract_phones", regions]
        print(
            f"\nours, regions={regions}: misses {len(s.misses)}, false positives {len(s.false_pos)}"
        )
        for kind, items in (("MISS", s.misses), ("FALSE+", s.false_pos)):
            for i, number in items[: args.show]:
                print(f"  {kind} ad {i} {number} [{ads[i].site_region}] {ads[i].text[:90]!r}")

    with csv_path.open(newline="", encoding="utf-8") as f:
        texts = [f"{r['title']}\n{r['body']}" for r in csv.DictReader(f)]
    print(f"\nthroughput on {csv_path.name} ({len(texts)} ads, title + body, region US):")
    rates = {}
    for name, fn in (("plain phonenumbers.Matcher", plain), ("ownergraph extract_phones", ours)):
        rate, with_phone = throughput(texts, fn)
        rates[name] = rate
        print(f"  {name:<30}{rate:>9,.0f} ads/s   ads with >=1 phone: {with_phone:,}")
    ratio = rates["ownergraph extract_phones"] / rates["plain phonenumbers.Matcher"]
    print(f"  speed ratio ours/plain: {ratio:.2f}x")
    methods = Counter(m.method for t in texts for m in extract_phones(t))
    print("  phones by method: " + ", ".join(f"{k} {v}" for k, v in methods.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
